#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mcpvisor::actors {
class gateway;
}

namespace mcpvisor::transports {
class tls_context;
class bearer_auth;
class io_lanes;
}

/// Streamable HTTP on Boost.Beast: the MCP endpoint (POST, GET, DELETE),
/// HTTP-level checks before any actor is involved, JSON and SSE answers,
/// keep-alive and timeouts. The public side has no Beast in it.
namespace mcpvisor::transports {

struct http_config {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path = "/mcp";
  /// Threads running the I/O (at least one), when `lanes` is not given.
  size_t io_threads = 1;
  /// The I/O threads to serve on, shared with the actors
  /// (app/io_scheduler.hpp); they must outlive the server. When null the
  /// server runs `io_threads` of its own.
  io_lanes* lanes = nullptr;
  size_t max_body_bytes = 4 * 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  /// Time to read one request (headers and body); also the keep-alive idle
  /// limit between requests.
  std::chrono::seconds read_timeout{30};
  size_t max_connections = 10000;
  /// Output a slow client may leave unread before it is disconnected.
  size_t max_queued_bytes = 8 * 1024 * 1024;
  /// Host names accepted in Host and Origin besides localhost, 127.0.0.1
  /// and [::1] (DNS rebinding protection).
  std::vector<std::string> allowed_hosts;
  /// Origins accepted as they are (scheme://host[:port]).
  std::vector<std::string> allowed_origins;
  /// SSE comment sent on idle streams this often (0: never).
  std::chrono::seconds keepalive{15};
  /// One log line per answered request (session, id, method, outcome,
  /// duration), in the same JSON lines as everything else.
  bool log_requests = false;
  /// HTTPS when set (transports/tls.hpp).
  std::shared_ptr<tls_context> tls;
  /// Bearer tokens required when set (transports/auth.hpp).
  std::shared_ptr<bearer_auth> auth;
};

class http_server {
public:
  http_server(actors::gateway& gw, http_config cfg);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts serving; an error text if it cannot.
  std::optional<std::string> start();

  /// The port actually bound (when configured as 0).
  uint16_t port() const;

  /// Stops accepting and closes every connection: a request still waiting
  /// is answered (503) if it can be within 2 s. Returns once none of its
  /// handlers can run any more (its own I/O threads are joined).
  void stop();

  /// Open connections.
  size_t connections() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace mcpvisor::transports
