#include "actors/ownership.hpp"

namespace mcpvisor::actors {

namespace {

/// splitmix64's finaliser: a rendezvous weight from the session's random
/// bits and a member's name.
uint64_t weight(const session_id& id, uint64_t name_hash) noexcept {
  uint64_t z = id.hi() ^ (id.lo() * 0x9e3779b97f4a7c15ULL) ^ name_hash;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

uint64_t stable_hash(std::string_view text) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint32_t node_tag(std::string_view name) noexcept {
  return static_cast<uint32_t>(stable_hash(name) >> 40);
}

size_t owner_of(const session_id& id, std::span<const member_key> members,
                size_t skip) noexcept {
  size_t birth = no_member;
  size_t best = no_member;
  uint64_t best_weight = 0;
  size_t oldest = no_member;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i == skip)
      continue;
    auto& m = members[i];
    if (oldest == no_member || m.incarnation < members[oldest].incarnation
        || (m.incarnation == members[oldest].incarnation
            && m.name_hash < members[oldest].name_hash))
      oldest = i;
    if (m.incarnation > id.born_ms())
      continue; // not a candidate: started after the session was born
    if (m.tag() == id.node_tag())
      birth = i;
    auto w = weight(id, m.name_hash);
    if (best == no_member || w > best_weight
        || (w == best_weight && m.name_hash < members[best].name_hash)) {
      best = i;
      best_weight = w;
    }
  }
  if (birth != no_member)
    return birth;
  if (best != no_member)
    return best;
  return oldest;
}

size_t buddy_of(const session_id& id, std::span<const member_key> members) noexcept {
  auto owner = owner_of(id, members);
  return owner == no_member ? no_member : owner_of(id, members, owner);
}

} // namespace mcpvisor::actors
