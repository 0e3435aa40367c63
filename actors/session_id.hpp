#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mcpvisor::actors {

/// Where a session lives in the tree: meta-shard and shard index.
struct shard_address {
  uint32_t meta = 0;
  uint32_t shard = 0;

  friend bool operator==(const shard_address&, const shard_address&) = default;
};

/// A session id: 128 bits from a CSPRNG. Its text form is 22 characters of
/// base64url (visible ASCII, as MCP requires for `Mcp-Session-Id`). The
/// first 64 bits select the meta-shard and shard, so any thread routes a
/// request to its session without a central table or lock.
class session_id {
public:
  static constexpr size_t text_size = 22;

  /// The all-zero id, which `random` never returns in practice: "no id".
  session_id() noexcept : hi_(0), lo_(0) {
    // nop
  }

  /// Draws a fresh id from the operating system's CSPRNG (getrandom).
  static session_id random();

  /// Parses the text form; nullopt for anything that is not exactly 22
  /// base64url characters encoding 128 bits.
  static std::optional<session_id> parse(std::string_view text);

  /// The 22-character text form.
  std::string to_string() const;

  /// The shard this id belongs to in a tree of `metas` meta-shards with
  /// `shards` shards each.
  shard_address address(uint32_t metas, uint32_t shards) const noexcept;

  uint64_t hi() const noexcept {
    return hi_;
  }

  uint64_t lo() const noexcept {
    return lo_;
  }

  friend bool operator==(const session_id&, const session_id&) = default;
  friend auto operator<=>(const session_id&, const session_id&) = default;

private:
  session_id(uint64_t hi, uint64_t lo) noexcept : hi_(hi), lo_(lo) {
    // nop
  }

  uint64_t hi_;
  uint64_t lo_;
};

} // namespace mcpvisor::actors

template <>
struct std::hash<mcpvisor::actors::session_id> {
  size_t operator()(const mcpvisor::actors::session_id& x) const noexcept {
    // The bits are random already; mix the halves so the shard-selecting
    // bits are not the only ones a table's buckets see.
    return static_cast<size_t>(x.lo() ^ (x.hi() * 0x9e3779b97f4a7c15ULL));
  }
};
