// mcpvisor::serve: the process. Parses the command line, loads the tool
// sets, starts the node (actor system and supervision tree) and the
// transport, waits for SIGINT/SIGTERM, the end of stdin, or the tree giving
// up, and returns the tree's verdict. The one place that wires actors/,
// transports/ and the tool sets together; the `mcpvisor` binary and users'
// own programs both call it.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <pthread.h>

#include "mcpvisor/mcpvisor.hpp"

#include "actors/admin.hpp"
#include "app/cli.hpp"
#include "app/cluster_certs.hpp"
#include "actors/gateway.hpp"
#include "actors/log.hpp"
#include "actors/node.hpp"
#include "app/io_scheduler.hpp"
#include "actors/upstream.hpp"
#include "supervision/errors.hpp"
#include "transports/admin_server.hpp"
#include "app/service.hpp"
#include "transports/auth.hpp"
#include "transports/http_server.hpp"
#include "transports/io_lanes.hpp"
#include "transports/stdio.hpp"
#include "transports/tls.hpp"
#include "transports/upstream_http.hpp"
#include "transports/upstream_stdio.hpp"

namespace {

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in every thread started
/// after this call; a dedicated thread takes them with sigwait.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

} // namespace

namespace mcpvisor {

int serve(int argc, char** argv, tool_adder add_tools) {
  if (argc > 1 && std::string_view{argv[1]} == "cluster-certs")
    return app::cluster_certs_main(argc - 1, argv + 1);
  auto parsed = app::parse_command_line(argc, argv, add_tools ? "none" : "default");
  if (!parsed)
    return parsed.error();
  auto& opts = *parsed;
  protocol::catalog cat{protocol::server_info{}};
  std::string error;
  auto set = tools::load_tool_set(opts.tools, cat, opts.tool_options, &error);
  if (!set) {
    log::error("cannot load tool set", {{"reason", error}});
    return 2;
  }
  if (add_tools) {
    try {
      add_tools(cat);
    } catch (const std::exception& e) {
      log::error("adding the program's tools failed", {{"reason", e.what()}});
      return 2;
    }
  }
  // HTTPS: the certificates are read before anything starts, so that a bad
  // file is a clear start-up error
  std::shared_ptr<transports::tls_context> tls;
  std::shared_ptr<transports::tls_context> admin_tls;
  for (auto [files, ctx] : {std::pair{&opts.tls, &tls}, std::pair{&opts.admin_tls, &admin_tls}})
    if (files->enabled()) {
      *ctx = std::make_shared<transports::tls_context>();
      if (auto err = (*ctx)->load(*files)) {
        log::error("cannot use the TLS certificate", {{"reason", *err}});
        return 2;
      }
    }
  opts.http.tls = tls;
  opts.admin_cfg.tls = admin_tls;
  auto secret = opts.seal_secret ? *opts.seal_secret : protocol::random_secret();
  if (opts.auth.enabled()) {
    // the keys are read (or a first fetch is tried) before anything starts
    opts.http.auth = std::make_shared<transports::bearer_auth>(opts.auth, secret);
    if (auto err = opts.http.auth->start()) {
      log::error("cannot check access tokens", {{"reason", *err}});
      return 2;
    }
  }
  protocol::server_context srv{cat, opts.engine, secret};
  auto signals = block_signals();
  // declared before the node so that it is destroyed after the node's
  // actors, which may still hold admin callbacks
  std::unique_ptr<transports::admin_server> admin_http;
  // the I/O threads, running the actors too with the io scheduler; they
  // outlive the node and the HTTP server
  std::unique_ptr<transports::io_lanes> lanes;
  if (opts.node.scheduler_policy == "io") {
    lanes = std::make_unique<transports::io_lanes>(opts.http.io_threads);
    opts.node.configure = [l = lanes.get()](caf::actor_system_config& cfg) {
      app::run_actors_on(*l, cfg);
    };
    opts.http.lanes = lanes.get();
  }
  actors::node n{opts.node, &srv};
  for (auto& u : opts.upstreams)
    n.rt().upstreams().push_back(std::make_shared<actors::upstream>(
      n.rt(), u, u.is_http() ? actors::link_factory{transports::make_http_link}
                             : actors::link_factory{transports::make_stdio_link}));
  if (!opts.upstreams.empty())
    cat.set_subscription_hook([&rt = n.rt()](std::string_view uri, bool on) {
      for (auto& u : rt.upstreams())
        u->subscription(uri, on);
    });
  if (auto err = n.start(set->periodic)) {
    log::error("start failed", {{"reason", supervision::describe(err)}});
    return 1;
  }
  actors::gateway gw{n.rt()};
  actors::admin api{n};
  std::string admin_url;
  if (opts.admin) {
    admin_http = std::make_unique<transports::admin_server>(api, opts.admin_cfg);
    if (auto err = admin_http->start()) {
      log::error("cannot serve the admin endpoint", {{"reason", *err}});
      n.stop();
      n.wait();
      return 2;
    }
    admin_url = std::string{admin_tls != nullptr ? "https://" : "http://"} + opts.admin_cfg.host + ":"
                + std::to_string(admin_http->port());
  }
  for (auto& order : opts.chaos)
    api.chaos(order, [](actors::admin_answer a) {
      if (a.status != 200)
        log::error("chaos order refused", {{"reason", a.body}});
    });
  // systemd: readiness once serving, and the watchdog fed while the
  // supervision tree answers (a wedged scheduler or a dead root stops it)
  app::service_notifier service{[&api, &rt = n.rt()](std::function<void(bool)> done) {
    api.tree(0, [done, &rt](actors::admin_answer a) { done(a.status == 200 && !rt.stopping()); });
  }};
  if (auto* cl = n.clustered())
    cl->set_tree_provider([&api](int depth, std::function<void(int, std::string)> done) {
      api.tree(depth, [done](actors::admin_answer a) { done(a.status, std::move(a.body)); });
    });
  std::thread signal_thread{[&] {
    // a member of a cluster drains first (a second signal stops it at
    // once); a node alone stops
    for (bool draining = false;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGUSR1)
        return; // the node ended by itself
      if (sig == SIGHUP) {
        service.reloading();
        // new handshakes use the new pair; open connections keep theirs
        for (auto* ctx : {&tls, &admin_tls})
          if (*ctx != nullptr) {
            if (auto err = (*ctx)->reload())
              log::error("TLS certificate not reloaded; the old one stays",
                         {{"reason", *err}});
            else
              log::info("TLS certificate reloaded");
          }
        service.ready("serving (reloaded)");
        continue;
      }
      service.stopping();
      auto name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (n.clustered() != nullptr && !draining) {
        log::info("draining", {{"signal", name}});
        draining = true;
        n.drain();
        continue;
      }
      log::info("stopping", {{"signal", name}});
      n.stop();
      return;
    }
  }};
  std::unique_ptr<transports::http_server> http;
  std::thread stdio_thread;
  if (opts.stdio) {
    log::info("ready", {{"transport", "stdio"}, {"tools", opts.tools},
                        {"admin", admin_url}});
    service.ready("serving on stdio");
    stdio_thread = std::thread{[&] {
      transports::serve_stdio(gw, opts.engine.limits.max_message_bytes,
                              opts.http.max_queued_bytes);
      log::info("stdin closed");
      n.stop();
    }};
  } else {
    http = std::make_unique<transports::http_server>(gw, opts.http);
    if (auto err = http->start()) {
      log::error("cannot serve HTTP", {{"reason", *err}});
      n.stop();
    } else {
      auto url = std::string{tls != nullptr ? "https://" : "http://"} + opts.http.host + ":"
                 + std::to_string(http->port())
                 + opts.http.path;
      log::info("ready", {{"url", url}, {"tools", opts.tools}, {"admin", admin_url},
                          {"meta_shards", std::to_string(opts.node.runtime.tree.meta_shards)},
                          {"shards_per_meta",
                           std::to_string(opts.node.runtime.tree.shards_per_meta)},
                          {"scheduler", opts.node.scheduler_policy},
                          {"scheduler_threads",
                           std::to_string(opts.node.scheduler_threads)},
                          {"io_threads", std::to_string(opts.http.io_threads)}});
      service.ready("serving " + url);
    }
  }
  int status = n.wait();
  if (http)
    http->stop();
  if (admin_http)
    admin_http->stop();
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  if (stdio_thread.joinable()) {
    // stdin may still be open after SIGTERM: do not wait for it
    stdio_thread.detach();
  }
  // handlers still running get the drain time; a stuck one does not hold
  // the process: it exits without destroying what such a thread still uses
  if (!n.rt().workers().stop(opts.drain_timeout)) {
    log::error("handlers were still running after the drain time; exiting "
               "without them",
               {{"drain_timeout_s", std::to_string(opts.drain_timeout.count())}});
    std::_Exit(3);
  }
  if (status == 0)
    log::info("stopped");
  else
    log::error("supervision tree gave up", {{"reason", n.exit_text()}});
  return status;
}

} // namespace mcpvisor
