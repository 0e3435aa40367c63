#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

/// Reading one HTTP/1.1 request from bytes, without a socket: Beast's parser
/// with every limit and rule a server on an open port needs (RFC 9112), so
/// that no request can abort the process, smuggle a second request, or make
/// the server keep bytes it has not counted. Both listeners (MCP and admin)
/// read through it, and a fuzz target feeds it arbitrary bytes.
namespace mcpvisor::transports {

/// Limits of one request. Every byte a client sends counts against one of
/// them before it is kept.
struct read_limits {
  /// Request line and header block; also the most a chunk-size line, the
  /// trailer section, or all chunk extensions of a request may take.
  size_t header_bytes = 16 * 1024;
  /// Decoded body.
  size_t body_bytes = 4 * 1024 * 1024;
};

/// Why a request was refused: the HTTP status and a text for its JSON body.
/// The connection is closed after the answer.
struct read_refusal {
  int status = 400;
  std::string text;
};

class request_reader {
public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  explicit request_reader(const read_limits& limits);

  // the parser keeps a reference to a callback of this object
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  /// Parses what it can of `buffered` (every byte received and not yet
  /// consumed) and returns how many bytes it consumed; the caller drops
  /// those and calls again with more. Never throws.
  size_t feed(std::string_view buffered) noexcept;

  /// A whole request was read and passed every rule.
  bool done() const noexcept {
    return state_ == state::done;
  }

  /// Set once the request is refused; nothing more is read from it.
  const std::optional<read_refusal>& refusal() const noexcept {
    return refusal_;
  }

  /// The request, once `done`.
  request release();

private:
  enum class state { reading, done, refused };

  void refuse(int status, std::string text);
  bool check_head();

  read_limits limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>>
    parser_;
  state state_ = state::reading;
  bool head_checked_ = false;
  size_t head_fields_ = 0;
  size_t extension_bytes_ = 0;
  std::function<void(std::uint64_t, boost::beast::string_view,
                     boost::beast::error_code&)>
    on_extension_;
  std::optional<read_refusal> refusal_;
};

} // namespace mcpvisor::transports
