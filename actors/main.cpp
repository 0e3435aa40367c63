// mcpvisor: the process. Parses the command line, starts the node (actor
// system and supervision tree), waits for SIGINT/SIGTERM or for the tree to
// give up, and exits with the tree's verdict.

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <pthread.h>

#include "actors/cli.hpp"
#include "actors/log.hpp"
#include "actors/node.hpp"
#include "supervision/errors.hpp"

namespace {

/// Blocks SIGINT, SIGTERM and SIGUSR1 in every thread started after this
/// call; a dedicated thread takes them with sigwait.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

} // namespace

int main(int argc, char** argv) {
  using namespace mcpvisor;
  auto opts = actors::parse_command_line(argc, argv);
  if (!opts)
    return opts.error();
  auto signals = block_signals();
  actors::node n{opts->node};
  if (auto err = n.start()) {
    log::error("start failed", {{"reason", supervision::describe(err)}});
    return 1;
  }
  std::thread signal_thread{[&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1)
      return; // the tree ended by itself
    log::info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    n.stop();
  }};
  log::info("ready", {{"meta_shards", std::to_string(opts->node.tree.meta_shards)},
                      {"shards_per_meta",
                       std::to_string(opts->node.tree.shards_per_meta)}});
  int status = n.wait();
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  if (status == 0)
    log::info("stopped");
  else
    log::error("supervision tree gave up", {{"reason", n.exit_text()}});
  return status;
}
