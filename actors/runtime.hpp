#pragma once

#include <caf/actor_system.hpp>

#include "actors/session_registry.hpp"
#include "actors/tree_config.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::actors {

/// What every actor of the tree shares: configuration, the routing tables
/// and the mailbox gauges. Owned by the node; outlives every actor.
class runtime {
public:
  runtime(caf::actor_system& sys, tree_config cfg)
    : sys_(sys), cfg_(cfg), registry_(cfg.meta_shards, cfg.shards_per_meta) {
    // nop
  }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept {
    return sys_;
  }

  const tree_config& config() const noexcept {
    return cfg_;
  }

  session_registry& registry() noexcept {
    return registry_;
  }

  supervision::gauge_registry& gauges() noexcept {
    return gauges_;
  }

private:
  caf::actor_system& sys_;
  tree_config cfg_;
  session_registry registry_;
  supervision::gauge_registry gauges_;
};

} // namespace mcpvisor::actors
