#pragma once

#include <memory>
#include <string>
#include <string_view>

/// Where the runtime's answers go: one HTTP exchange (a JSON body or an SSE
/// stream), or the stdio pipe. Implemented by transports/; called from
/// actor and worker threads, so implementations hand the work to their own
/// I/O thread and never block. Knows nothing of CAF or Beast.
namespace mcpvisor::actors {

class channel {
public:
  virtual ~channel() = default;

  /// Sends one complete body with an HTTP status (stdio: one line) and ends
  /// the exchange. `session_id` is set on the answer to initialize.
  virtual void reply(int status, std::string body,
                     std::string_view session_id = {})
    = 0;

  /// Turns the exchange into an event stream. With a `prime_id`, the
  /// stream starts with that event id, empty data and a `retry` of
  /// `retry_ms` (SSE priming for 2025-11-25 clients).
  virtual void open_stream(std::string_view prime_id, int retry_ms) = 0;

  /// One event on the stream; `id` may be empty.
  virtual void event(std::string_view id, std::string data) = 0;

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

/// What a client is told about a request refused while the andon cord is
/// pulled.
constexpr std::string_view overloaded_text
  = "the server is overloaded; retry later";

} // namespace mcpvisor::actors
