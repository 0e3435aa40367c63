#pragma once

#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/runtime.hpp"
#include "actors/session_id.hpp"
#include "supervision/supervisor_spec.hpp"

/// The MCP runtime's supervision tree:
///
///     root (one_for_one)
///     └── meta-M (one_for_one)
///         └── shard-M-S (simple_one_for_one, transient sessions)
///             └── session actors
///
/// Shard supervisors register themselves in their slot of the runtime's
/// session registry each time they start, so sessions are started and found
/// by id without asking any central actor.
namespace mcpvisor::actors {

/// Spawns the actor of a session; `spawn_session` unless a test or a
/// benchmark wants another.
using session_factory = std::function<caf::expected<caf::actor>(
  runtime&, const session_id&, supervision::mailbox_gauge*,
  const caf::message&)>;

/// Builds the root supervisor's spec. `extra` children (admin, listeners)
/// start before the meta-shards and stop after them.
supervision::supervisor_spec
make_root_spec(runtime& rt, session_factory make_session,
               std::vector<supervision::child_spec> extra = {});

/// Wraps a static child's start function so that every start after its
/// first counts as a restart at `level` in the runtime's metrics.
supervision::start_function counting_restarts(runtime& rt, metrics::level level,
                                              supervision::start_function f);

/// Node-wide id of a meta-shard or shard, as shown in snapshots.
std::string meta_shard_name(uint32_t meta);
std::string shard_name(shard_address addr);

} // namespace mcpvisor::actors
