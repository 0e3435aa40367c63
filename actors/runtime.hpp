#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/change_bus.hpp"
#include "actors/metrics.hpp"
#include "actors/session_registry.hpp"
#include "actors/session_streams.hpp"
#include "actors/tree_config.hpp"
#include "actors/worker_pool.hpp"
#include "protocol/engine.hpp"
#include "supervision/andon.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::actors {

/// When the overload monitor pulls and releases the andon cord
/// (docs/configuration.md, "Overload").
struct andon_config {
  /// How often the monitor samples.
  std::chrono::milliseconds interval{100};
  /// Queued work (requests in flight, see `queued_work`) that pulls the
  /// cord, and the level it must fall to before the monitor releases it.
  uint64_t queue_high = 20000;
  uint64_t queue_low = 2000;
  /// Messages waiting in one session's mailbox count at most this much
  /// towards queued work: a single flooded session is slowed by its own
  /// queue (its connections are not read while their requests wait)
  /// without stopping everyone.
  uint32_t session_share = 64;
  /// Resident memory that pulls the cord, in MiB (0: not watched); released
  /// below 90% of it.
  size_t rss_high_mb = 0;
  /// Open file descriptors that pull the cord (0: 90% of the process's
  /// limit); released below 80% of the limit.
  size_t fds_high = 0;
  /// Restarts per second anywhere in the tree that pull the cord; released
  /// below a tenth of it.
  uint64_t restarts_high = 5000;
};

/// Limits and timings of the MCP runtime (docs/configuration.md).
struct runtime_config {
  tree_config tree;
  stream_limits streams;
  /// Threads that run handlers marked `execution::worker`.
  size_t workers = 8;
  /// Handler runs waiting for a worker before new ones are refused.
  size_t worker_queue = 10000;
  /// A session not used for this long ends (clients that never say goodbye
  /// do not leak sessions).
  std::chrono::seconds idle_timeout{30 * 60};
  /// A session not used for this long drops its state (it stays in its
  /// checkpoint) until a client needs it again; 0: never.
  std::chrono::seconds sleep_after{10};
  /// Sessions beyond this are refused (HTTP 503).
  size_t max_sessions = 200000;
  /// Calls a session may have in flight; more are refused.
  size_t max_calls_per_session = 64;
  /// Actors serving stateless (2026-07-28) requests.
  size_t stateless_actors = 4;
  andon_config andon;
};

/// What every actor of the tree shares: configuration, the protocol engine's
/// server context, routing tables, mailbox gauges, the handler pool and the
/// change bus. Owned by the node; outlives every actor.
class runtime {
public:
  runtime(caf::actor_system& sys, runtime_config cfg,
          protocol::server_context* srv = nullptr)
    : sys_(sys),
      cfg_(cfg),
      srv_(srv),
      registry_(cfg.tree.meta_shards, cfg.tree.shards_per_meta),
      workers_(srv != nullptr ? cfg.workers : 0, cfg.worker_queue),
      stateless_(cfg.stateless_actors) {
    // nop
  }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept {
    return sys_;
  }

  const runtime_config& config() const noexcept {
    return cfg_;
  }

  /// The MCP engine's shared context; null in a tree without MCP (tests,
  /// the tree benchmark).
  protocol::server_context* server() noexcept {
    return srv_;
  }

  session_registry& registry() noexcept {
    return registry_;
  }

  /// Mailbox gauges of the session actors.
  supervision::gauge_registry& gauges() noexcept {
    return gauges_;
  }

  /// Mailbox gauges of the stateless actors (shared by all clients, so
  /// counted in full by the overload monitor).
  supervision::gauge_registry& stateless_gauges() noexcept {
    return stateless_gauges_;
  }

  metrics& stats() noexcept {
    return metrics_;
  }

  supervision::andon_cord& andon() noexcept {
    return andon_;
  }

  worker_pool& workers() noexcept {
    return workers_;
  }

  change_bus& bus() noexcept {
    return bus_;
  }

  /// The actor serving stateless requests in slot `i` (null while it
  /// restarts).
  caf::actor stateless_actor(size_t i) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return stateless_[i % stateless_.size()];
  }

  void set_stateless_actor(size_t i, caf::actor a) {
    std::lock_guard<std::mutex> guard{mtx_};
    stateless_[i] = std::move(a);
  }

  /// Forgets the stateless actor in slot `i` if it is still `who`.
  void clear_stateless_actor_if(size_t i, const caf::actor_addr& who) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (caf::actor_cast<caf::actor_addr>(stateless_[i]) == who)
      stateless_[i] = caf::actor{};
  }

  /// True once the node is stopping: sessions that stop now end for good
  /// instead of waiting for a restart.
  bool stopping() const noexcept {
    return stopping_.load(std::memory_order_acquire);
  }

  void set_stopping() noexcept {
    stopping_.store(true, std::memory_order_release);
  }

private:
  caf::actor_system& sys_;
  runtime_config cfg_;
  protocol::server_context* srv_;
  session_registry registry_;
  supervision::gauge_registry gauges_;
  supervision::gauge_registry stateless_gauges_;
  metrics metrics_;
  supervision::andon_cord andon_;
  worker_pool workers_;
  change_bus bus_;
  mutable std::mutex mtx_;
  std::vector<caf::actor> stateless_;
  std::atomic<bool> stopping_{false};
};

} // namespace mcpvisor::actors
