#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/channel.hpp"
#include "actors/session_id.hpp"
#include "protocol/engine.hpp"

/// Messages between the transports' gateway, session actors, stateless
/// actors and handler workers.
namespace mcpvisor::actors {

class runtime;

/// A client message for a session or a stateless actor, with where its
/// answers go.
struct inbound {
  enum class kind_t : uint8_t {
    /// A JSON-RPC message (`msg`).
    message,
    /// A GET stream (`ch`), resuming after `last_event_id` if set.
    stream,
    /// DELETE: the client ends the session.
    close,
  };

  inbound() = default;
  inbound(const inbound&) = delete;
  inbound& operator=(const inbound&) = delete;

  /// An untaken session message (its actor was gone before it could take
  /// it) is handed to the actor that continues the session.
  ~inbound();

  kind_t kind = kind_t::message;
  std::unique_ptr<protocol::message> msg;
  channel_ptr ch;
  std::string last_event_id;
  /// stdio: every answer and notification of the session goes to `ch`.
  bool single_channel = false;
  /// HTTP headers of a stateless request (owned copies).
  bool has_headers = false;
  std::string protocol_version;
  bool has_method = false;
  std::string method;
  bool has_name = false;
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;

  /// Session messages: the runtime and session that delivery is retried
  /// with when the message is dropped untaken, and whether the session
  /// actor took it.
  runtime* rescue = nullptr;
  session_id sid;
  bool taken = false;
  /// Times this message was handed on after its actor died.
  uint8_t attempts = 0;

  /// The header view the engine takes.
  protocol::mcp_headers headers() const;
};

using inbound_ptr = std::shared_ptr<inbound>;

/// The first message of a session (its initialize), handed to the actor the
/// shard starts; taken once, so a restart does not see it again.
struct first_message {
  inbound_ptr in;
};

using first_message_ptr = std::shared_ptr<first_message>;

using call_ptr = std::shared_ptr<protocol::pending_call>;

/// (post_atom, inbound_ptr): a message, GET stream or DELETE from the
/// client.
using post_atom = caf::atom_constant<caf::atom("post")>;
/// (recover_atom): a restarted session takes over what its predecessor
/// left (sent to itself with high priority, before any other message).
using recover_atom = caf::atom_constant<caf::atom("recover")>;
/// (call_done_atom, call_ptr, std::string crash): a handler round ended on
/// a worker; `crash` is the text of an exception that escaped it.
using call_done_atom = caf::atom_constant<caf::atom("calldone")>;
/// (notify_atom, protocol::request_id, std::string json): a handler's
/// progress or log notification.
using notify_atom = caf::atom_constant<caf::atom("notify")>;
/// (close_stream_atom, protocol::request_id): a handler asks to end its
/// request's SSE stream early.
using close_stream_atom = caf::atom_constant<caf::atom("closestrm")>;
/// (tick_atom): a deadline may have passed.
using tick_atom = caf::atom_constant<caf::atom("tick")>;

} // namespace mcpvisor::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::inbound_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::first_message_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::channel_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::call_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::protocol::request_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::protocol::catalog_change)
