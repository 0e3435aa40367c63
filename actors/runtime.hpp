#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/change_bus.hpp"
#include "actors/session_registry.hpp"
#include "actors/session_streams.hpp"
#include "actors/tree_config.hpp"
#include "actors/worker_pool.hpp"
#include "protocol/engine.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::actors {

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
  /// Sessions beyond this are refused (HTTP 503).
  size_t max_sessions = 200000;
  /// Calls a session may have in flight; more are refused.
  size_t max_calls_per_session = 64;
  /// Actors serving stateless (2026-07-28) requests.
  size_t stateless_actors = 4;
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

  supervision::gauge_registry& gauges() noexcept {
    return gauges_;
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

private:
  caf::actor_system& sys_;
  runtime_config cfg_;
  protocol::server_context* srv_;
  session_registry registry_;
  supervision::gauge_registry gauges_;
  worker_pool workers_;
  change_bus bus_;
  mutable std::mutex mtx_;
  std::vector<caf::actor> stateless_;
};

} // namespace mcpvisor::actors
