#include "actors/session_id.hpp"

#include <cerrno>
#include <chrono>
#include <stdexcept>

#include <sys/random.h>

#include "protocol/seal.hpp"

namespace mcpvisor::actors {

namespace {

constexpr uint64_t time_mask = (uint64_t{1} << 40) - 1;

/// 2026-01-01T00:00:00Z in milliseconds since 1970.
constexpr int64_t epoch_ms = 1767225600000;

void put_word(char* out, uint64_t w) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(w >> (56 - 8 * i));
}

uint64_t get_word(const char* bytes) {
  uint64_t w = 0;
  for (size_t i = 0; i < 8; ++i)
    w = (w << 8) | static_cast<unsigned char>(bytes[i]);
  return w;
}

} // namespace

uint64_t cluster_clock_ms() noexcept {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  return now > epoch_ms ? static_cast<uint64_t>(now - epoch_ms) & time_mask : 0;
}

session_id session_id::random(uint32_t node_tag, uint64_t born_ms) {
  uint64_t words[2];
  auto* out = reinterpret_cast<unsigned char*>(words);
  size_t got = 0;
  while (got < sizeof(words)) {
    auto n = getrandom(out + got, sizeof(words) - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<size_t>(n);
  }
  auto origin = (uint64_t{node_tag & 0xffffff} << 40) | (born_ms & time_mask);
  return session_id{words[0], words[1], origin};
}

std::string session_id::to_string() const {
  // the 24 bytes, high word first, as 32 characters of base64url
  char bytes[24];
  put_word(bytes, hi_);
  put_word(bytes + 8, lo_);
  put_word(bytes + 16, origin_);
  return protocol::base64url_encode({bytes, sizeof(bytes)});
}

std::optional<session_id> session_id::parse(std::string_view text) {
  if (text.size() != text_size)
    return std::nullopt;
  // 32 base64url characters are 24 bytes, four characters to three
  char bytes[24];
  auto n = protocol::base64url_decode(text, bytes, sizeof(bytes));
  if (!n || *n != sizeof(bytes))
    return std::nullopt;
  return session_id{get_word(bytes), get_word(bytes + 8), get_word(bytes + 16)};
}

shard_address session_id::address(uint32_t metas,
                                  uint32_t shards) const noexcept {
  auto meta = static_cast<uint32_t>((hi_ >> 32) % metas);
  auto shard = static_cast<uint32_t>((hi_ & 0xffffffffULL) % shards);
  return {meta, shard};
}

} // namespace mcpvisor::actors
