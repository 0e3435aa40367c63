#include "actors/session_id.hpp"

#include <cerrno>
#include <stdexcept>

#include <sys/random.h>

namespace mcpvisor::actors {

namespace {

constexpr char alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

} // namespace

session_id session_id::random() {
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
  return session_id{words[0], words[1]};
}

std::string session_id::to_string() const {
  // 128 bits as 21 groups of 6 bits plus a final group of 2 bits.
  std::string out(text_size, '\0');
  for (size_t i = 0; i < text_size; ++i) {
    size_t bit = i * 6;
    uint32_t v = 0;
    for (size_t k = 0; k < 6; ++k, ++bit) {
      v <<= 1;
      if (bit < 128) {
        uint64_t w = bit < 64 ? hi_ : lo_;
        v |= static_cast<uint32_t>((w >> (63 - bit % 64)) & 1U);
      }
    }
    out[i] = alphabet[v];
  }
  return out;
}

std::optional<session_id> session_id::parse(std::string_view text) noexcept {
  if (text.size() != text_size)
    return std::nullopt;
  uint64_t words[2] = {0, 0};
  size_t bit = 0;
  for (size_t i = 0; i < text_size; ++i) {
    int v = decode_char(text[i]);
    if (v < 0)
      return std::nullopt;
    for (int k = 5; k >= 0; --k, ++bit) {
      uint64_t b = static_cast<uint64_t>((v >> k) & 1);
      if (bit >= 128) {
        if (b != 0)
          return std::nullopt; // padding bits must be zero: one text per id
        continue;
      }
      words[bit / 64] |= b << (63 - bit % 64);
    }
  }
  return session_id{words[0], words[1]};
}

shard_address session_id::address(uint32_t metas,
                                  uint32_t shards) const noexcept {
  auto meta = static_cast<uint32_t>((hi_ >> 32) % metas);
  auto shard = static_cast<uint32_t>((hi_ & 0xffffffffULL) % shards);
  return {meta, shard};
}

} // namespace mcpvisor::actors
