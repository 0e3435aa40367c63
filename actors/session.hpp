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

/// Asks a session or stateless actor to throw `why` (crash injection and
/// tests): an `event` of kind crash, sent ahead of other messages.
void crash(const caf::actor& target, std::string why);

/// Ends a session as if it expired.
void expire_session(const caf::actor& session);

/// What the admin API shows of a passive session (`--passivate`), read from
/// its checkpoint without starting it.
std::string describe_passive(runtime& rt, const session_id& id);

/// Spawns the actor of session `id`, registered in its shard's slot. A
/// session that ends normally removes itself from the slot; one that crashes
/// stays routed until its shard restarts it, and the restarted actor picks
/// up the checkpoint and the messages its predecessor left in the slot (a
/// new session's initialize waits there too, see gateway::initialize).
caf::expected<caf::actor> spawn_session(runtime& rt, const session_id& id,
                                        supervision::mailbox_gauge* gauge,
                                        const caf::message& args);

} // namespace mcpvisor::actors
