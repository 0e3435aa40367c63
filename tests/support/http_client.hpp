#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mcpvisor::test {

/// A parsed HTTP response.
struct http_response {
  int status = 0;
  /// Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// A blocking HTTP/1.1 client over one TCP connection to 127.0.0.1, for
/// integration tests that need to send exactly the bytes they mean to
/// (malformed requests included). Every wait is bounded.
class http_client {
public:
  explicit http_client(int port);
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  bool connected() const noexcept {
    return fd_ >= 0;
  }

  /// Sends raw bytes.
  bool send_raw(const std::string& bytes);

  /// Sends raw bytes without blocking for longer than `timeout` in all;
  /// false if the peer stopped taking them (closed, reset, or time up).
  bool send_within(const std::string& bytes, std::chrono::milliseconds timeout);

  /// Reads one response (Content-Length or chunked body); nullopt on
  /// timeout or a closed connection.
  std::optional<http_response>
  read_response(std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Reads a response's status and headers only (for streams).
  std::optional<http_response>
  read_head(std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Reads SSE events of a chunked stream until `count` events (data lines)
  /// arrived, the stream ended, or the time is up. Each event is its raw
  /// text ("id: ...\ndata: ...").
  std::vector<std::string> read_events(size_t count,
                                       std::chrono::milliseconds timeout);

  /// True once the server closed the connection (within `timeout`).
  bool closed_by_peer(std::chrono::milliseconds timeout);

  /// A POST of `body` to /mcp with the usual MCP headers plus `extra`
  /// ("Name: value\r\n" lines).
  static std::string post(const std::string& body, const std::string& extra = {},
                          const std::string& host = "127.0.0.1");

private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);
  std::optional<std::string> read_chunk(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buf_;
  bool chunked_stream_ = false;
  std::string sse_pending_;
};

} // namespace mcpvisor::test
