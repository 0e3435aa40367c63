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

/// Milliseconds since 2026-01-01T00:00:00Z on the system clock: when a
/// session was born, and when a node started (its incarnation). 40 bits
/// hold them until 2060.
uint64_t cluster_clock_ms() noexcept;

/// A session id: 128 bits from a CSPRNG, the secret part, followed by the
/// node that created the session (a 24-bit tag of its name) and the
/// session's birth time (40 bits of cluster_clock_ms). Its text form is 32
/// characters of base64url (visible ASCII, as MCP requires for
/// `Mcp-Session-Id`). The random bits select the meta-shard and shard, so
/// any thread routes a request to its session without a central table or
/// lock; the birth node and time let every node of a cluster find the
/// session's owner (actors/ownership.hpp) without asking anyone.
class session_id {
public:
  static constexpr size_t text_size = 32;

  /// The all-zero id, which `random` never returns in practice: "no id".
  session_id() noexcept : hi_(0), lo_(0), origin_(0) {
    // nop
  }

  /// Draws a fresh id from the operating system's CSPRNG (getrandom), born
  /// now on the node tagged `node_tag`.
  static session_id random(uint32_t node_tag = 0,
                           uint64_t born_ms = cluster_clock_ms());

  /// The id made of these parts (the wire form between nodes).
  static session_id from_parts(uint64_t hi, uint64_t lo, uint64_t origin) noexcept {
    return session_id{hi, lo, origin};
  }

  /// Parses the text form; nullopt for anything that is not exactly 32
  /// base64url characters.
  static std::optional<session_id> parse(std::string_view text);

  /// The 32-character text form.
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

  /// The birth node's tag and the birth time, packed (tag << 40 | time).
  uint64_t origin() const noexcept {
    return origin_;
  }

  uint32_t node_tag() const noexcept {
    return static_cast<uint32_t>(origin_ >> 40);
  }

  uint64_t born_ms() const noexcept {
    return origin_ & ((uint64_t{1} << 40) - 1);
  }

  friend bool operator==(const session_id&, const session_id&) = default;
  friend auto operator<=>(const session_id&, const session_id&) = default;

private:
  session_id(uint64_t hi, uint64_t lo, uint64_t origin) noexcept
    : hi_(hi), lo_(lo), origin_(origin) {
    // nop
  }

  uint64_t hi_;
  uint64_t lo_;
  uint64_t origin_;
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
