#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/json.hpp"

/// JSON-RPC 2.0 as MCP uses it: decoding one message from text with limits,
/// and encoding responses, errors, notifications and requests.
namespace mcpvisor::protocol {

/// Error codes used by the engine.
namespace errc {
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int internal_error = -32603;
/// 2025-11-25 and earlier: resource not found.
constexpr int resource_not_found = -32002;
/// 2025-11-25: URL elicitation required.
constexpr int url_elicitation_required = -32042;
/// 2026-07-28: HTTP headers do not match the body.
constexpr int header_mismatch = -32020;
/// 2026-07-28: a client capability the request needs was not declared.
constexpr int missing_client_capability = -32021;
/// 2026-07-28: unsupported protocol version.
constexpr int unsupported_version = -32022;
} // namespace errc

/// A JSON-RPC id: a string or an integer (never null in MCP), or absent.
class request_id {
public:
  request_id() = default;

  explicit request_id(int64_t n) : v_(n) {
    // nop
  }

  explicit request_id(std::string s) : v_(std::move(s)) {
    // nop
  }

  bool empty() const noexcept {
    return v_.index() == 0;
  }

  bool is_integer() const noexcept {
    return v_.index() == 1;
  }

  int64_t integer() const {
    return std::get<1>(v_);
  }

  const std::string& string() const {
    return std::get<2>(v_);
  }

  /// Writes the id (or null when absent).
  void write(json_writer& w) const;

  /// The id as JSON text: 42 or "abc" or null.
  std::string to_json() const;

  /// Reads an id from a JSON value: string or integer; nullopt otherwise.
  static std::optional<request_id> from(const json_value& v);

  friend bool operator==(const request_id&, const request_id&) = default;

  size_t hash() const noexcept;

private:
  std::variant<std::monostate, int64_t, std::string> v_;
};

struct request_id_hash {
  size_t operator()(const request_id& id) const noexcept {
    return id.hash();
  }
};

/// Bounds on what a single message may contain. Exceeding one is an error
/// that names the limit; nothing is partially processed.
struct decode_limits {
  size_t max_message_bytes = 4 * 1024 * 1024;
  unsigned max_depth = 64;
  size_t max_string_bytes = 1024 * 1024;
  size_t max_object_members = 10000;
  size_t max_array_items = 100000;
};

enum class message_kind : uint8_t { request, notification, result, error };

/// What went wrong decoding a message; answered as a JSON-RPC error.
struct decode_error {
  int code = errc::invalid_request;
  std::string message;
  /// The request's id if it could be read, so the error can carry it.
  request_id id;
};

/// One decoded JSON-RPC message. Owns its text (parsed in place, strings
/// point into it) and a small arena so that typical messages parse without
/// touching the heap. Not movable: pointers into it stay valid.
struct principal;

class message {
public:
  message();
  message(const message&) = delete;
  message& operator=(const message&) = delete;

  message_kind kind = message_kind::request;
  request_id id;
  /// Method of a request or notification.
  std::string_view method;
  /// `params` if present (an object), else null.
  const json_value* params = nullptr;
  /// `result` of a result response.
  const json_value* result = nullptr;
  /// `error` of an error response.
  const json_value* error = nullptr;

  /// Who sent it, when the transport checked an access token (see
  /// protocol/auth.hpp); null otherwise.
  std::shared_ptr<const principal> who;

  /// `params._meta` if present and an object.
  const json_value* meta() const {
    auto* m = find_member(params, "_meta");
    return m != nullptr && m->IsObject() ? m : nullptr;
  }

  /// Member of params, or null.
  const json_value* param(std::string_view key) const {
    return find_member(params, key);
  }

  json_document& doc() noexcept {
    return doc_;
  }

  /// The client asked for progress (`_meta.progressToken`): its answer
  /// goes out as an SSE stream from the start.
  bool wants_progress() const;

  /// Size of the text this message was decoded from.
  size_t size() const noexcept {
    return size_;
  }

private:
  friend std::optional<decode_error>
  decode(std::string text, message& out, const decode_limits& limits);

  std::string text_;
  size_t size_ = 0;
  alignas(8) char arena_[2048];
  rapidjson::MemoryPoolAllocator<> pool_;
  json_document doc_;
};

/// Decodes one JSON-RPC message from `text` into `out`. Batches (arrays),
/// malformed JSON, invalid UTF-8, wrong shapes and exceeded limits give an
/// error with the right code and a message that names the problem without
/// echoing internals.
std::optional<decode_error> decode(std::string text, message& out,
                                   const decode_limits& limits = {});

// -- encoding -----------------------------------------------------------------

/// {"jsonrpc":"2.0","id":ID,"result":RESULT} where `result_json` is the
/// already-encoded result object.
std::string encode_result(const request_id& id, std::string_view result_json);

/// {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M[,"data":D]}};
/// `data_json` is encoded JSON or empty. An absent id is written as null.
std::string encode_error(const request_id& id, int code,
                         std::string_view text,
                         std::string_view data_json = {});

/// {"jsonrpc":"2.0","method":M[,"params":P]}; `params_json` may be empty.
std::string encode_notification(std::string_view method,
                                std::string_view params_json);

/// {"jsonrpc":"2.0","id":ID,"method":M,"params":P} (server to client).
std::string encode_request(const request_id& id, std::string_view method,
                           std::string_view params_json);

/// Inserts `,"key":value_json` before the closing brace of the encoded
/// object `object_json` (which must end with '}').
void add_member(std::string& object_json, std::string_view key,
                std::string_view value_json);

} // namespace mcpvisor::protocol
