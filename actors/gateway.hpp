#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "actors/channel.hpp"
#include "actors/metrics.hpp"
#include "protocol/engine.hpp"

/// The narrow interface the transports use to reach the runtime: no CAF and
/// no Beast on either side of it. Every call enqueues and returns at once;
/// answers arrive on the channel.
namespace mcpvisor::actors {

class runtime;
struct inbound;

class gateway {
public:
  explicit gateway(runtime& rt);

  enum class result {
    ok,
    /// No session with that id (HTTP 404).
    unknown_session,
    /// The session limit is reached (HTTP 503).
    full,
    /// Nobody can take the message right now (a shard or actor is
    /// restarting; HTTP 503, retry).
    unavailable,
  };

  /// Starts a session whose first message is `initialize`. With
  /// `single_channel` (stdio) every later message of the session also goes
  /// to `ch`; `id_out` receives the new session's id. A transport that
  /// counts requests in flight passes `f`, which then holds this one until
  /// the transport drops it when the exchange ends.
  result initialize(std::unique_ptr<protocol::message> msg, channel_ptr ch,
                    bool single_channel = false,
                    std::string* id_out = nullptr, flight* f = nullptr);

  /// A message for an existing session. `ch` may be null for
  /// notifications and responses (answered 202 by the transport).
  result post(std::string_view session_id,
              std::unique_ptr<protocol::message> msg, channel_ptr ch,
              flight* f = nullptr);

  /// A GET stream of a session, resuming after `last_event_id` if set.
  result get(std::string_view session_id, std::string last_event_id,
             channel_ptr ch);

  /// Ends a session (DELETE).
  result remove(std::string_view session_id);

  /// A stateless 2026-07-28 request; `headers` null on stdio.
  result stateless(std::unique_ptr<protocol::message> msg,
                   const protocol::mcp_headers* headers, channel_ptr ch,
                   bool single_channel = false, flight* f = nullptr);

  /// True if `session_id` names a live session.
  bool known(std::string_view session_id) const;

  size_t sessions() const;

  /// True while the andon cord is pulled: new connections, sessions and
  /// requests are refused at once; work already accepted goes on.
  bool overloaded() const noexcept;

  /// Counters the transports bump (requests, latencies, connections).
  metrics& stats() noexcept;

  runtime& rt() noexcept {
    return rt_;
  }

private:
  runtime& rt_;
  std::atomic<size_t> next_stateless_{0};
};

} // namespace mcpvisor::actors
