#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "protocol/jsonrpc.hpp"

/// Where the runtime's answers go: one HTTP exchange (a JSON body or an SSE
/// stream), or the stdio pipe. Implemented by transports/; called from
/// actor and worker threads, so implementations hand the work to their own
/// I/O thread and never block. Knows nothing of CAF or Beast.
namespace mcpvisor::actors {

/// One message for the client and what it is, so that nothing downstream
/// parses the JSON to find out: a result, an error, a notification or a
/// server-to-client request; sent as a whole body, with the HTTP status and
/// the session id to announce (the answer to initialize).
struct reply {
  protocol::message_kind kind = protocol::message_kind::result;
  int status = 200;
  std::string json;
  std::string session_id;

  /// A JSON-RPC error answer to request `id`.
  static reply error(const protocol::request_id& id, int code,
                     std::string_view text, int status = 200,
                     std::string_view data = {}) {
    return reply{protocol::message_kind::error, status,
                 protocol::encode_error(id, code, text, data), {}};
  }
};

class channel {
public:
  virtual ~channel() = default;

  /// Sends one complete body (stdio: one line) and ends the exchange.
  virtual void send(reply r) = 0;

  /// Turns the exchange into an event stream. With a `prime_id`, the
  /// stream starts with that event id, empty data and a `retry` of
  /// `retry_ms` (SSE priming for 2025-11-25 clients).
  virtual void open_stream(std::string_view prime_id, int retry_ms) = 0;

  /// One event of `kind` on the stream; `id` may be empty. An event with
  /// empty `json` is a keep-alive comment.
  virtual void event(std::string_view id, protocol::message_kind kind,
                     std::string json)
    = 0;

  /// Ends the stream (the HTTP response completes).
  virtual void close() = 0;

  /// False once the client has gone away or the exchange has ended.
  virtual bool alive() const = 0;
};

using channel_ptr = std::shared_ptr<channel>;

/// What a client is told about a request whose session or handler actor
/// stopped while it was in flight and that was not run again.
constexpr std::string_view restarted_text
  = "the session restarted while this request was in flight; it may or may "
    "not have completed";

/// What a client is told about a request the node could not take: it is
/// stopping, or the session's actor could not be reached.
constexpr std::string_view shutting_down_text
  = "the server is shutting down; retry";

} // namespace mcpvisor::actors
