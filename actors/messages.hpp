#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

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

  /// It was sent to another node that died before it answered: a request
  /// runs again only if it is read-only or idempotent (as after a crash).
  bool orphan = false;

  /// Times this message was handed on after its actor died: a message an
  /// actor never took when it stopped goes to the next actor, at most a few
  /// times, or is answered (`refuse`).
  uint8_t attempts = 0;

  /// While its tools/call waits for the run of its idempotency key: until
  /// when it may wait (see actors/keyed_calls.hpp).
  std::optional<std::chrono::steady_clock::time_point> keyed_wait_until;

  /// Answers a request or stream that cannot be served with `status` and
  /// `why`; notifications, responses and DELETEs need no answer.
  void refuse(int status, std::string_view why);

  /// The header view the engine takes.
  protocol::mcp_headers headers() const;
};

using inbound_ptr = std::shared_ptr<inbound>;

struct session_handover;

/// Answers everything in `h` that waits for an answer: queued messages get
/// `status` and `why`, calls in flight the restarted-session error.
void answer_unreached(session_handover& h, std::string_view why, int status = 503);

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
    /// The node drains: move to another node once no call is in flight.
    migrate,
    /// Throw `text` (crash injection and tests).
    crash,
    /// Run the task `text` again from its request: the actor that ran it
    /// crashed (stateless actors only).
    task,
    /// Serve request `in` again: its call waits for the run of its
    /// idempotency key (its stream, if any, is open already).
    again,
    /// A request: a session answers with a description of itself as JSON
    /// (revision, client, requests in flight, mailbox depth) for the admin
    /// API; also a liveness probe. Other events are answered with nothing.
    info,
  };

  kind what = kind::tick;
  inbound_ptr in;
  /// notify: the call_link that sent it.
  const void* source = nullptr;
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

namespace mcpvisor::actors {

/// Closes the mailbox of `self` (a stopping actor) and moves the client
/// messages still in it to `out`, in order; requests from other actors get
/// CAF's usual error. After this nothing can be added to the mailbox.
void drain_client_messages(caf::scheduled_actor& self, std::vector<inbound_ptr>& out);

} // namespace mcpvisor::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::inbound_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mcpvisor::actors::event)
