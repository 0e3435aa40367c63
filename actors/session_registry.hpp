#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "actors/metrics.hpp"
#include "actors/session_handover.hpp"
#include "actors/session_id.hpp"

namespace mcpvisor::actors {

/// One shard's routing table: the shard's current supervisor, the live
/// actor of each of its sessions, when each session was last used, and the
/// checkpoint each session keeps outside its actor so that a restarted
/// actor continues where the crashed one stopped. Guarded by its own mutex,
/// so threads that route to different shards never contend, and nothing is
/// global.
class shard_slot {
public:
  /// The shard supervisor's current incarnation (null while restarting).
  caf::actor supervisor() const;

  /// Called by the shard's start function on every (re)start.
  void set_supervisor(caf::actor sup);

  /// Called when a shard supervisor exits: the slot has none until the
  /// next one starts.
  void clear_supervisor_if(const caf::actor_addr& who);

  /// The session's actor, or null if the id is unknown here or the session
  /// is restarting. Marks the session as used now.
  caf::actor find(const session_id& id);

  /// True if `id` names a session here, live or restarting.
  bool known(const session_id& id) const;

  struct routed {
    /// The live actor to send to; null if the message was queued for the
    /// actor that continues a restarting session, or the id is unknown.
    caf::actor handle;
    bool known = false;
    /// The session's count of requests in flight.
    session_load load;
  };

  /// Where a client message for `id` goes. While the session restarts the
  /// message is queued (moved from `in`) and its next actor takes it.
  routed route(const session_id& id, inbound_ptr& in);

  /// A new session: routed from now on, with `first` (its initialize)
  /// waiting for the actor its shard is about to start. False if `id` is
  /// taken.
  bool reserve(const session_id& id, inbound_ptr first);

  /// Records the actor that now serves `id`; true if it replaces an
  /// earlier actor of the session (a restart).
  bool put(const session_id& id, caf::actor handle);


  /// The actor `who` stops without ending its session: the session stays
  /// routed, and from now on messages for it are queued for the next
  /// actor. False if `who` no longer serves `id`.
  bool begin_restart(const session_id& id, const caf::actor_addr& who);

  /// What the stopping actor leaves for the next one; messages queued since
  /// `begin_restart` come after those in `h`.
  void leave(const session_id& id, std::unique_ptr<session_handover> h);

  /// Takes what a predecessor left for the actor of `id`, or null.
  std::unique_ptr<session_handover> take_handover(const session_id& id);

  /// True if a predecessor left something for the next actor of `id`.
  bool has_handover(const session_id& id) const;

  /// Forgets `id` if it is still served by `who` (a restarted session's new
  /// actor is never removed by its predecessor's exit).
  void erase_if(const session_id& id, const caf::actor_addr& who);

  /// A shard restarts: forgets sessions without a checkpoint and returns
  /// the ids of those that have one, to be started again.
  std::vector<session_id> restartable();

  /// Number of sessions routed here.
  size_t size() const;

  /// Stores the session's state for a restarted actor to pick up.
  void save_checkpoint(const session_id& id, std::string state);

  /// The last checkpoint of `id`, or empty.
  std::string checkpoint(const session_id& id) const;

  /// What the janitor does with this shard's sessions, in one pass under
  /// the lock (at 100K sessions each pass over the maps is felt by the
  /// threads serving calls).
  struct sweep_result {
    /// Not used since `expire_before`: to end.
    std::vector<caf::actor> expired;
    /// Awake and not used since `sleep_before`: to put to sleep.
    std::vector<caf::actor> drowsy;
  };

  /// Sorts sessions for the janitor (a bound of 0 skips its check), and
  /// forgets reserved sessions whose actor never started (their shard could
  /// not start it) since `unstarted_before`; their initialize is answered.
  sweep_result sweep(uint32_t expire_before, uint32_t sleep_before,
                     uint32_t unstarted_before);

  /// A session dropped its state until a client needs it again (or woke).
  void set_asleep(const session_id& id, bool asleep);

  /// Sessions asleep here.
  size_t asleep() const;

  /// Every live session actor (for chaos and shutdown tools).
  std::vector<std::pair<session_id, caf::actor>> all() const;

  /// What the admin endpoint shows of one session.
  struct row {
    session_id id;
    caf::actor handle;
    /// Seconds on the steady clock.
    uint32_t created = 0;
    uint32_t last_used = 0;
    uint32_t restarts = 0;
  };

  /// Up to `limit` sessions with ids greater than `after`, in id order,
  /// and whether more follow.
  std::vector<row> page(const session_id* after, size_t limit,
                        bool& more) const;

private:
  struct entry {
    caf::actor handle;
    /// Seconds on the steady clock when created and when last routed to.
    uint32_t created = 0;
    uint32_t last_used = 0;
    /// Times an actor of this session was started again.
    uint32_t restarts = 0;
    /// Requests in flight (see `flight`).
    session_load load;
    /// The actor dropped its state while idle (see session.cpp, "sleep").
    bool asleep = false;
    /// An actor was started for the session (it may be restarting now).
    bool started = false;
    /// The checkpoint's size and bytes (allocated to fit: 100,000 sessions
    /// would feel a string's spare capacity and its 32-byte header).
    uint32_t checkpoint_size = 0;
    std::unique_ptr<char[]> checkpoint;
    std::unique_ptr<session_handover> handover;
  };

  mutable std::mutex mtx_;
  caf::actor sup_;
  std::unordered_map<session_id, entry> sessions_;
};

/// Seconds on the steady clock, for idle bookkeeping.
uint32_t steady_seconds() noexcept;

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
  caf::actor find(const session_id& id);

  /// Sessions in all shards (takes each shard's lock in turn).
  size_t size() const;

  /// Calls `f` on every slot.
  void for_each(const std::function<void(shard_slot&)>& f);

  /// Sessions asleep in all shards.
  size_t asleep() const;

private:
  uint32_t metas_;
  uint32_t shards_;
  std::unique_ptr<shard_slot[]> slots_;
};

} // namespace mcpvisor::actors
