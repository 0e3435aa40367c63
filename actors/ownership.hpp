#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "actors/session_id.hpp"

/// Which node of a cluster owns a session, decided from the session's id and
/// the members the nodes agree on, without asking anyone (docs/operations.md,
/// "Running a cluster", has the rule in prose). Pure functions: no CAF, no
/// I/O.
///
/// Each member is named, tagged (24 bits of its name's hash, which session
/// ids carry) and has an incarnation: when its process started, on the same
/// clock as session birth times. The members that started no later than a
/// session was born, and are still up, are its candidates: they have been
/// up without a break since it was born.
///
/// 1. The node that created the session owns it while it is a candidate
///    (a restarted node is a new incarnation, so it never owns the sessions
///    of its former self).
/// 2. Otherwise the candidate with the highest rendezvous weight of the
///    session's random bits and its name owns it.
/// 3. With no candidate left (every node that was up at the session's birth
///    has gone), the oldest member owns it.
///
/// The buddy, which holds the replica of a session's checkpoint, is the
/// owner the rule picks once the owner is gone. So when an owner dies its
/// buddy is the new owner, and a member that joins never takes a session
/// away from its owner (it is no candidate, and never the oldest).
namespace mcpvisor::actors {

/// FNV-1a, 64 bits: the same on every node, unlike std::hash.
uint64_t stable_hash(std::string_view text) noexcept;

/// The tag of a node named `name` in the ids of the sessions it creates.
uint32_t node_tag(std::string_view name) noexcept;

/// A live member (up or draining), as the rule sees it.
struct member_key {
  /// stable_hash of the name; its top 24 bits are the node tag.
  uint64_t name_hash = 0;
  /// cluster_clock_ms when the member's process started.
  uint64_t incarnation = 0;

  uint32_t tag() const noexcept {
    return static_cast<uint32_t>(name_hash >> 40);
  }
};

constexpr size_t no_member = static_cast<size_t>(-1);

/// The index in `members` of the owner of `id`, ignoring the member at
/// `skip`; no_member if no member is left.
size_t owner_of(const session_id& id, std::span<const member_key> members,
                size_t skip = no_member) noexcept;

/// The index of the buddy of `id`: the owner once the owner is gone;
/// no_member for a lone owner.
size_t buddy_of(const session_id& id, std::span<const member_key> members) noexcept;

} // namespace mcpvisor::actors
