#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "actors/session_id.hpp"

namespace mcpvisor::actors {

/// One shard's routing table: the shard's current supervisor and the live
/// actor of each of its sessions. Guarded by its own mutex, so threads that
/// route to different shards never contend, and nothing is global.
class shard_slot {
public:
  /// The shard supervisor's current incarnation (null while restarting).
  caf::actor supervisor() const;

  /// Called by the shard's start function on every (re)start.
  void set_supervisor(caf::actor sup);

  /// The session's actor, or null if the id is unknown here.
  caf::actor find(const session_id& id) const;

  /// Records the actor that now serves `id` (a new session or a restart).
  void put(const session_id& id, caf::actor handle);

  /// Forgets `id` if it is still served by `who` (a restarted session's new
  /// actor is never removed by its predecessor's exit).
  void erase_if(const session_id& id, const caf::actor_addr& who);

  /// Forgets every session (a shard restarted without them).
  void clear();

  /// Number of sessions routed here.
  size_t size() const;

private:
  mutable std::mutex mtx_;
  caf::actor sup_;
  std::unordered_map<session_id, caf::actor> sessions_;
};

/// All shard slots of a tree, indexed by the address a session id names.
/// Created once by the node and outlives every actor of the tree.
class session_registry {
public:
  session_registry(uint32_t metas, uint32_t shards_per_meta);

  uint32_t metas() const noexcept {
    return metas_;
  }

  uint32_t shards_per_meta() const noexcept {
    return shards_;
  }

  shard_slot& slot(shard_address addr) noexcept {
    return slots_[addr.meta * shards_ + addr.shard];
  }

  shard_slot& slot_of(const session_id& id) noexcept {
    return slot(id.address(metas_, shards_));
  }

  /// The session's actor, or null if the id names no live session.
  caf::actor find(const session_id& id) const;

  /// Sessions in all shards (takes each shard's lock in turn).
  size_t size() const;

private:
  uint32_t metas_;
  uint32_t shards_;
  std::unique_ptr<shard_slot[]> slots_;
};

} // namespace mcpvisor::actors
