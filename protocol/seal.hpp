#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Integrity-protected tokens (pagination cursors, MRTR requestState) and
/// the encodings they need: HMAC-SHA256 over the payload with a server
/// secret, base64url for transport. A token that was altered in any byte,
/// or sealed for another purpose, does not open.
namespace mcpvisor::protocol {

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);

/// Strict standard base64: correct padding, no whitespace, no stray
/// characters; nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

/// base64url without padding (RFC 4648 §5).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

/// base64url decoded into `out` (room for `capacity` bytes) without
/// allocating: the number of bytes written, or nullopt when `text` is not
/// base64url or decodes to more than `capacity` bytes.
std::optional<size_t> base64url_decode(std::string_view text, char* out,
                                       size_t capacity);

/// SHA-256 of `bytes`, as raw bytes.
std::string sha256(std::string_view bytes);

/// 32 random bytes from the operating system.
std::array<uint8_t, 32> random_secret();

/// Seals and opens tokens with one secret. Thread-safe (immutable).
class sealer {
public:
  explicit sealer(std::array<uint8_t, 32> secret) : secret_(secret) {
    // nop
  }

  /// Token for `payload` bound to `purpose` ("cursor:tools", "state").
  std::string seal(std::string_view purpose, std::string_view payload) const;

  /// The payload, if `token` was sealed by this sealer for `purpose`.
  std::optional<std::string> open(std::string_view purpose,
                                  std::string_view token) const;

  /// A short MAC of `payload` for `purpose` (96 bits, base64url): binds a
  /// value shown to a client to something it must not change.
  std::string tag(std::string_view purpose, std::string_view payload) const;

private:
  std::string mac(std::string_view purpose, std::string_view payload) const;

  std::array<uint8_t, 32> secret_;
};

} // namespace mcpvisor::protocol
