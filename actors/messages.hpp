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

using call_ptr = std::shared_ptr<protocol::pending_call>;

/// Everything that reaches a session or stateless actor, as one message
/// type: each type an actor handles costs it about 40 bytes of behavior,
/// which 100,000 sessions feel.
struct event {
  enum class kind : uint8_t {
    /// A message, GET stream or DELETE from the client (`in`).
    client,
    /// A handler round of `call` ended on a worker; `text` holds the
    /// exception that escaped it, if any.
    call_done,
    /// A handler's progress or log notification (`text`) for request `id`.
    notify,
    /// A handler asks to end the SSE stream of request `id` early.
    close_stream,
    /// The catalog changed (`change`; `text` is the resource's URI).
    change,
    /// A deadline may have passed.
    tick,
    /// Take over what a predecessor left (also wakes a new session actor).
    recover,
    /// An idle session may drop its state until it is needed.
    sleep,
    /// The session expired: end it.
    close,
    /// Throw `text` (crash injection and tests).
    crash,
    /// A request: a session answers with a description of itself as JSON
    /// (revision, client, requests in flight, mailbox depth) for the admin
    /// API; also a liveness probe. Other events are answered with nothing.
    info,
  };

  kind what = kind::tick;
  inbound_ptr in;
  call_ptr call;
  protocol::request_id id;
  std::string text;
  protocol::catalog_change change{};

  static event of(kind k, std::string text = {}) {
    event e;
    e.what = k;
    e.text = std::move(text);
    return e;
  }

  static event of(inbound_ptr in) {
    event e;
    e.what = kind::client;
    e.in = std::move(in);
    return e;
  }
};

/// (event_atom, event).
using event_atom = caf::atom_constant<caf::atom("event")>;

} // namespace mcpvisor::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::inbound_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::event)
