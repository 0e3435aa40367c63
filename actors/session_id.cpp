#include "actors/session_id.hpp"

#include <cerrno>
#include <stdexcept>

#include <sys/random.h>

#include "protocol/seal.hpp"

namespace mcpvisor::actors {

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
  // the 16 bytes, high word first, as 22 characters of unpadded base64url
  char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(hi_ >> (56 - 8 * i));
    bytes[8 + i] = static_cast<char>(lo_ >> (56 - 8 * i));
  }
  return protocol::base64url_encode({bytes, sizeof(bytes)});
}

std::optional<session_id> session_id::parse(std::string_view text) {
  if (text.size() != text_size)
    return std::nullopt;
  // the decoder refuses non-zero padding bits: one text per id
  auto bytes = protocol::base64url_decode(text);
  if (!bytes || bytes->size() != 16)
    return std::nullopt;
  uint64_t words[2] = {0, 0};
  for (size_t i = 0; i < 16; ++i)
    words[i / 8] = (words[i / 8] << 8) | static_cast<unsigned char>((*bytes)[i]);
  return session_id{words[0], words[1]};
}

shard_address session_id::address(uint32_t metas,
                                  uint32_t shards) const noexcept {
  auto meta = static_cast<uint32_t>((hi_ >> 32) % metas);
  auto shard = static_cast<uint32_t>((hi_ & 0xffffffffULL) % shards);
  return {meta, shard};
}

} // namespace mcpvisor::actors
