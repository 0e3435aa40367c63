#include "protocol/seal.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace mcpvisor::protocol {

namespace {

constexpr char std_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad)
      out += "==";
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad)
      out += '=';
  }
  return out;
}

int value_of(char c, bool url) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == (url ? '-' : '+'))
    return 62;
  if (c == (url ? '_' : '/'))
    return 63;
  return -1;
}

/// Decodes groups of 4 characters (the last group may be 2 or 3 characters
/// when unpadded) into `out`, which holds `capacity` bytes; unused trailing
/// bits must be zero so that every byte string has exactly one encoding.
/// The number of bytes written, or nullopt.
std::optional<size_t> decode(std::string_view in, bool url, char* out,
                             size_t capacity) {
  size_t full = in.size() / 4 * 4;
  size_t tail = in.size() - full;
  if (tail == 1)
    return std::nullopt;
  size_t n_out = 0;
  auto put = [&](uint32_t byte) {
    if (n_out == capacity)
      return false;
    out[n_out++] = static_cast<char>(byte & 0xFF);
    return true;
  };
  auto group = [&](std::string_view g) -> bool {
    int v[4] = {0, 0, 0, 0};
    size_t n = g.size();
    for (size_t k = 0; k < n; ++k) {
      v[k] = value_of(g[k], url);
      if (v[k] < 0)
        return false;
    }
    uint32_t bits = (static_cast<uint32_t>(v[0]) << 18)
                    | (static_cast<uint32_t>(v[1]) << 12)
                    | (static_cast<uint32_t>(v[2]) << 6)
                    | static_cast<uint32_t>(v[3]);
    if (!put(bits >> 16))
      return false;
    if (n == 2)
      return (bits & 0xFFFF) == 0;
    if (!put(bits >> 8))
      return false;
    if (n == 3)
      return (bits & 0xFF) == 0;
    return put(bits);
  };
  for (size_t i = 0; i < full; i += 4) {
    auto g = in.substr(i, 4);
    if (i + 4 == full && tail == 0 && !url) {
      // the last group may carry padding
      if (g[3] == '=') {
        size_t keep = g[2] == '=' ? 2 : 3;
        if (!group(g.substr(0, keep)))
          return std::nullopt;
        return n_out;
      }
    }
    if (!group(g))
      return std::nullopt;
  }
  if (tail != 0) {
    if (!url)
      return std::nullopt; // standard base64 must be padded
    if (!group(in.substr(full)))
      return std::nullopt;
  }
  return n_out;
}

std::optional<std::string> decode(std::string_view in, bool url) {
  std::string out(in.size() / 4 * 3 + 2, '\0'); // room for any valid input
  auto n = decode(in, url, out.data(), out.size());
  if (!n)
    return std::nullopt;
  out.resize(*n);
  return out;
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, std_alphabet, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  return decode(text, false);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, url_alphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, true);
}

std::optional<size_t> base64url_decode(std::string_view text, char* out,
                                       size_t capacity) {
  return decode(text, true, out, capacity);
}

std::string sha256(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         md);
  return std::string{reinterpret_cast<const char*>(md), sizeof(md)};
}

std::array<uint8_t, 32> random_secret() {
  std::array<uint8_t, 32> s{};
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1)
    throw std::runtime_error("no randomness for the server secret");
  return s;
}

std::string sealer::mac(std::string_view purpose,
                        std::string_view payload) const {
  // The purpose and a separator are authenticated with the payload, so a
  // token sealed for one use does not open for another.
  std::string data;
  data.reserve(purpose.size() + 1 + payload.size());
  data += purpose;
  data += '\n';
  data += payload;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  return std::string{reinterpret_cast<const char*>(md), len};
}

std::string sealer::seal(std::string_view purpose,
                         std::string_view payload) const {
  return base64url_encode(payload) + "." + base64url_encode(mac(purpose, payload));
}

std::string sealer::tag(std::string_view purpose, std::string_view payload) const {
  return base64url_encode(mac(purpose, payload).substr(0, 12));
}

std::optional<std::string> sealer::open(std::string_view purpose,
                                        std::string_view token) const {
  auto dot = token.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto payload = base64url_decode(token.substr(0, dot));
  auto tag = base64url_decode(token.substr(dot + 1));
  if (!payload || !tag)
    return std::nullopt;
  auto expected = mac(purpose, *payload);
  if (tag->size() != expected.size()
      || CRYPTO_memcmp(tag->data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  return payload;
}

} // namespace mcpvisor::protocol
