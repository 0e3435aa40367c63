#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

#include "actors/session_id.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::actors {

class runtime;

/// Asks a session (or any tree actor that understands it) to throw, with the
/// given text as the crash reason: used by crash injection and tests.
using crash_atom = caf::atom_constant<caf::atom("crash")>;
/// Liveness probe: a session answers `pong_atom`.
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
/// Ends a session normally (the client said goodbye, or it expired).
using close_atom = caf::atom_constant<caf::atom("close")>;
/// (info_atom) → std::string: a session describes itself as a JSON object
/// (revision, client, requests in flight, mailbox depth) for the admin API.
using info_atom = caf::atom_constant<caf::atom("info")>;

/// Spawns the actor of session `id`, registered in its shard's slot. A
/// session that ends normally removes itself from the slot; one that crashes
/// stays routed until its shard restarts it, and the restarted actor picks
/// up the checkpoint its predecessor left in the slot. `args` may carry the
/// session's first message (a first_message_ptr, see messages.hpp).
caf::expected<caf::actor> spawn_session(runtime& rt, const session_id& id,
                                        supervision::mailbox_gauge* gauge,
                                        const caf::message& args);

} // namespace mcpvisor::actors
