#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "actors/channel.hpp"
#include "actors/messages.hpp"
#include "actors/session_streams.hpp"
#include "protocol/jsonrpc.hpp"

namespace mcpvisor::actors {

/// What a session actor leaves when it stops without ending its session (it
/// crashed, was killed, or its shard is restarting), for the actor its
/// shard starts next. The engine's state is checkpointed separately as it
/// changes (shard_slot::save_checkpoint); this is the part that holds live
/// connections and cannot be serialised: the open response streams with
/// their replay buffer, the requests in flight and the messages that were
/// still queued. The dying actor writes it in its cleanup, which CAF runs
/// for every exit, including exceptions and kills.
struct session_handover {
  /// Empty if the session had no streams yet (or the handover only holds
  /// messages that arrived while the session restarted).
  std::optional<session_streams> streams;
  /// stdio: the one channel everything goes to.
  channel_ptr single;

  /// A request that was in flight.
  struct call {
    inbound_ptr in;
    protocol::request_id id;
    /// Run it again (read-only or idempotent, and not the one that crashed);
    /// otherwise it is answered with the restarted-session error.
    bool replay = false;
  };
  std::vector<call> calls;

  /// Messages that reached the session but were not taken yet, in order.
  std::vector<inbound_ptr> queued;

  /// Left by an actor that stopped abnormally (not a first start's queue).
  bool after_crash = false;
};

} // namespace mcpvisor::actors
