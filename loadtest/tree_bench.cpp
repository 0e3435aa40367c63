// mcpvisor-tree-bench: starts N session actors across the supervision tree
// and reports what they cost: spawn time per session, RSS per idle session,
// teardown time, and the time from a session crash to its replacement being
// routed. Not a test: it asserts nothing and prints a report.
//
//   build/loadtest/mcpvisor-tree-bench [--sessions N] [--crashes K]
//       [--meta-shards M] [--shards S] [--threads T] [--window W]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <malloc.h>

#include <caf/all.hpp>

#include "actors/node.hpp"
#include "actors/session.hpp"
#include "supervision/supervisor.hpp"

using namespace mcpvisor;
using clock_type = std::chrono::steady_clock;

namespace {

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double us_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t0)
    .count();
}

/// When each session's current actor was spawned, for crash-to-replacement
/// times. Written by shard supervisors, read by the benchmark thread.
struct spawn_clock {
  std::mutex mtx;
  std::unordered_map<actors::session_id, clock_type::time_point> last;
  bool enabled = false;
};

long arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0)
      return std::atol(argv[i + 1]);
  return fallback;
}

} // namespace

int main(int argc, char** argv) {
  const long sessions = arg(argc, argv, "--sessions", 100000);
  const long crashes = arg(argc, argv, "--crashes", 1000);
  actors::node_config cfg;
  cfg.runtime.tree.meta_shards = static_cast<uint32_t>(arg(argc, argv, "--meta-shards", 4));
  cfg.runtime.tree.shards_per_meta = static_cast<uint32_t>(arg(argc, argv, "--shards", 16));
  cfg.runtime.tree.shard_intensity = static_cast<int>(crashes) + 10;
  cfg.scheduler_threads = static_cast<size_t>(arg(argc, argv, "--threads", 2));
  spawn_clock clk;
  auto factory = [&clk](actors::runtime& rt, const actors::session_id& id,
                        supervision::mailbox_gauge* g,
                        const caf::message& args) {
    auto res = actors::spawn_session(rt, id, g, args);
    if (clk.enabled) {
      std::lock_guard<std::mutex> guard{clk.mtx};
      clk.last[id] = clock_type::now();
    }
    return res;
  };
  actors::node n{cfg, nullptr, factory};
  if (auto err = n.start()) {
    std::fprintf(stderr, "start failed\n");
    return 1;
  }
  std::vector<actors::session_id> ids;
  ids.reserve(static_cast<size_t>(sessions));
  for (long i = 0; i < sessions; ++i)
    ids.push_back(actors::session_id::random());
  caf::scoped_actor self{n.system()};
  malloc_trim(0);
  const long rss0 = rss_bytes();

  // -- spawn: start requests with a window of `window` in flight, as many
  // clients connecting at once would produce; a single burst of 100K start
  // messages would measure the burst's mailbox backlog, not the sessions.
  const long window = arg(argc, argv, "--window", 256);
  auto send_start = [&](const actors::session_id& id) {
    self->send(n.rt().shards().get(n.rt().registry().address_of(id)),
               supervision::start_child_atom::value, id.to_string(),
               caf::message{});
  };
  auto t0 = clock_type::now();
  long sent = 0;
  for (; sent < sessions && sent < window; ++sent)
    send_start(ids[static_cast<size_t>(sent)]);
  long answered = 0;
  long failed = 0;
  auto on_answer = [&] {
    if (sent < sessions)
      send_start(ids[static_cast<size_t>(sent++)]);
  };
  self->receive_for(answered, sessions)(
    [&](caf::actor&) { on_answer(); },
    [&](caf::error&) {
      ++failed;
      on_answer();
    });
  const double spawn_us = us_since(t0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss1 = rss_bytes();
  const size_t routed = n.rt().registry().size();

  // -- crash to replacement: one crash at a time, others idle --
  std::vector<double> restart_us;
  clk.enabled = true;
  for (long i = 0; i < crashes && i < sessions; ++i) {
    const auto& id = ids[static_cast<size_t>(i) * 7 % ids.size()];
    auto victim = n.rt().registry().whereis(id);
    auto tc = clock_type::now();
    actors::crash(victim, "bench");
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{clk.mtx};
        auto it = clk.last.find(id);
        if (it != clk.last.end() && it->second > tc) {
          restart_us.push_back(
            std::chrono::duration<double, std::micro>(it->second - tc).count());
          break;
        }
      }
      std::this_thread::yield();
    }
  }
  std::sort(restart_us.begin(), restart_us.end());
  auto pct = [&](double p) {
    return restart_us.empty()
             ? 0.0
             : restart_us[static_cast<size_t>(p * (restart_us.size() - 1))];
  };

  // -- teardown --
  auto td = clock_type::now();
  n.stop();
  n.wait();
  const double teardown_ms = us_since(td) / 1000.0;

  std::printf("sessions started      %ld (failed %ld, routed %zu)\n", sessions,
              failed, routed);
  std::printf("tree                  %u meta-shards x %u shards, %zu "
              "scheduler threads\n",
              cfg.runtime.tree.meta_shards, cfg.runtime.tree.shards_per_meta,
              cfg.scheduler_threads);
  std::printf("spawn time / session  %.2f us\n", spawn_us / sessions);
  std::printf("RSS / idle session    %.0f bytes\n",
              static_cast<double>(rss1 - rss0) / sessions);
  std::printf("teardown              %.1f ms\n", teardown_ms);
  std::printf("crash -> replacement  median %.1f us, p90 %.1f us, p99 %.1f us "
              "(%zu crashes)\n",
              pct(0.5), pct(0.9), pct(0.99), restart_us.size());
  return 0;
}
