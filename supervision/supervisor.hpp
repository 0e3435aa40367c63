#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/snapshot.hpp"
#include "supervision/supervisor_spec.hpp"

/// A supervisor is a CAF actor that starts, monitors, restarts and stops its
/// children by OTP's rules. It never links to its children: it monitors them,
/// stops them itself on shutdown, and kills them if it is killed.
///
/// Message protocol (every request answers an error on failure; while the
/// supervisor is busy stopping or starting children, requests wait in order):
///
/// | request                                   | answer                     |
/// | ----------------------------------------- | -------------------------- |
/// | (start_child_atom, child_spec)            | caf::actor (not simple)    |
/// | (start_child_atom, std::string id, message)| caf::actor (simple only)  |
/// | (terminate_child_atom, std::string id)    | ok_atom                    |
/// | (restart_child_atom, std::string id)      | caf::actor                 |
/// | (delete_child_atom, std::string id)       | ok_atom                    |
/// | (which_children_atom)                     | std::vector<child_info>    |
/// | (count_children_atom)                     | child_counts               |
/// | (snapshot_atom, snapshot_options)         | tree_node                  |
/// | (await_start_atom)                        | ok_atom, once all started  |
///
/// A supervisor stops (children in reverse start order, or in parallel under
/// simple_one_for_one) when it receives an exit message with a non-normal
/// reason, and exits with that reason. Children it stops for good
/// (terminate_child) get the exit reason `exit_reason::user_shutdown`;
/// children it stops because it stops itself or restarts a group get
/// `sup_errc::shutdown`, so that a child with state kept outside itself can
/// tell "gone for good" from "coming back". (OTP sends `shutdown` in both
/// cases; this is the one deviation.) When its restart intensity is
/// exceeded it stops its children the same way and exits with
/// `sup_errc::shutdown`, which its own parent handles as a child exit.
namespace mcpvisor::supervision {

using start_child_atom = caf::atom_constant<caf::atom("startchild")>;
using terminate_child_atom = caf::atom_constant<caf::atom("termchild")>;
using restart_child_atom = caf::atom_constant<caf::atom("restchild")>;
using delete_child_atom = caf::atom_constant<caf::atom("delchild")>;
using which_children_atom = caf::atom_constant<caf::atom("whichchild")>;
using count_children_atom = caf::atom_constant<caf::atom("countchild")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using await_start_atom = caf::atom_constant<caf::atom("awaitstart")>;
using supervisor_event_atom = caf::atom_constant<caf::atom("supevent")>;
/// Answer of requests that succeed without a value.
using ok_atom = caf::atom_constant<caf::atom("ok")>;

/// Returns an error naming the problem if `spec` cannot be used: bad flags,
/// an invalid or duplicate child spec, or not exactly one template under
/// simple_one_for_one.
caf::error validate(const supervisor_spec& spec);

/// Validates `spec` and spawns a supervisor without waiting for its children:
/// the caller sends `await_start_atom` to learn whether they all started. Use
/// `start_supervisor` for a top-level supervisor and `supervisor_child` for a
/// nested one.
caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys,
                                           supervisor_spec spec);

/// Spawns a supervisor and waits (at most `timeout`) until all its children
/// started. On failure the supervisor has already stopped what it started,
/// and the error names the child that failed.
caf::expected<caf::actor>
start_supervisor(caf::actor_system& sys, supervisor_spec spec,
                 std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// A child spec for a nested supervisor: kind supervisor, shutdown infinity,
/// permanent. `make_spec` builds the supervisor's spec on every (re)start,
/// from the start context.
child_spec
supervisor_child(std::string id,
                 std::function<supervisor_spec(const start_context&)> make_spec);

} // namespace mcpvisor::supervision

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mcpvisor::supervision::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::child_counts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::snapshot_options)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::tree_node)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::supervision::supervisor_event)
