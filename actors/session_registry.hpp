#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "actors/metrics.hpp"
#include "actors/session_handover.hpp"
#include "actors/session_id.hpp"

/// Where each session is: the registry names sessions by id the way OTP's
/// `{via, Mod, Name}` names processes (register, unregister, whereis, send),
/// plus what routing needs to survive a restart (messages wait for the next
/// actor) and the janitor's bookkeeping. One table per shard, each behind
/// its own mutex: routing to different shards never contends, and nothing
/// takes a global lock. Checkpoints live in their own store
/// (checkpoint_store.hpp).
namespace mcpvisor::actors {

/// Seconds on the steady clock, for idle bookkeeping.
uint32_t steady_seconds() noexcept;

class session_registry {
public:
  session_registry(uint32_t metas, uint32_t shards_per_meta);

  uint32_t metas() const noexcept {
    return metas_;
  }

  uint32_t shards_per_meta() const noexcept {
    return shards_;
  }

  shard_address address_of(const session_id& id) const noexcept {
    return id.address(metas_, shards_);
  }

  // -- names ------------------------------------------------------------------

  enum class registered { ok, taken, full };

  /// A new session: routed from now on, with `first` (its initialize; null
  /// for a session taken over from another node) waiting for the actor its
  /// shard is about to start. At most `limit`
  /// sessions are registered at a time (counted with an atomic).
  registered register_name(const session_id& id, inbound_ptr first,
                           size_t limit);

  /// Forgets `id` if `who` still serves it (a restarted session's new actor
  /// is never removed by its predecessor's exit). Returns what waited for
  /// the session's next actor, for the caller to answer.
  std::unique_ptr<session_handover> unregister_name(const session_id& id,
                                                    const caf::actor_addr& who);

  /// The session's actor, or null if the id names no live session.
  caf::actor whereis(const session_id& id);

  struct sent {
    /// False if the id names no session (the message was not taken).
    bool known = false;
    /// The session's count of requests in flight.
    session_load load;
    /// The session was passive: the caller starts its actor
    /// (runtime::start_session), which takes the message from its slot.
    bool wake = false;
  };

  /// Sends `in` to the session's actor, or, while the session restarts,
  /// queues it for the actor that continues it. The send happens under the
  /// shard's lock, so an actor that stops after it finds the message in
  /// its mailbox when it hands its session on.
  sent send(const session_id& id, inbound_ptr in);

  /// True if `id` names a session, live or restarting.
  bool known(const session_id& id) const;

  /// Sessions registered.
  size_t size() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }

  // -- the actors that serve a session -----------------------------------------

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

  /// True if something waits for the next actor of `id`.
  bool has_handover(const session_id& id) const;

  /// A session dropped its state until a client needs it again (or woke).
  void set_asleep(const session_id& id, bool asleep);

  /// Sessions asleep.
  size_t asleep() const;

  /// Passivation (`--passivate`): the sleeping actor `who` goes away and
  /// the session stays, routed, with its checkpoint; the next message for
  /// it waits in its slot and `send` says to start an actor. False if
  /// `who` no longer serves `id`.
  bool passivate(const session_id& id, const caf::actor_addr& who);

  /// A passive session with messages waiting is to be started again: true
  /// if the caller is to start it (it was passive).
  bool wake(const session_id& id);

  /// Sessions without an actor until a client needs them.
  size_t passive() const;

  /// The passive sessions of a shard (a draining node starts them so that
  /// they move).
  std::vector<session_id> passive_in(shard_address addr) const;

  // -- one shard at a time (shard restarts, the janitor, admin) -----------------

  struct dropped {
    /// What waited for sessions that are forgotten, to be answered.
    std::vector<std::unique_ptr<session_handover>> handovers;
  };

  /// A shard restarts: forgets its sessions that are not in `saved` (they
  /// have no checkpoint to continue from) and returns the ids of the
  /// others, to be started again (passive ones stay passive).
  std::vector<session_id> restart_shard(shard_address addr,
                                        const std::unordered_set<session_id>& saved,
                                        dropped& out);

  struct sweep_result {
    /// Not used since `expire_before`: to end.
    std::vector<caf::actor> expired;
    /// Awake and not used since `sleep_before`: to put to sleep.
    std::vector<caf::actor> drowsy;
    /// Passive and not used since `expire_before`: forgotten here; their
    /// checkpoints are the caller's to erase.
    std::vector<session_id> forgotten;
  };

  /// Sorts a shard's sessions for the janitor (a bound of 0 skips its
  /// check), and forgets reserved sessions whose actor never started since
  /// `unstarted_before` (their shard could not start it).
  sweep_result sweep(shard_address addr, uint32_t expire_before,
                     uint32_t sleep_before, uint32_t unstarted_before,
                     dropped& out);

  /// Every live session actor of a shard (chaos).
  std::vector<std::pair<session_id, caf::actor>> all(shard_address addr) const;

  /// What the admin endpoint shows of one session.
  struct row {
    session_id id;
    caf::actor handle;
    /// Seconds on the steady clock.
    uint32_t created = 0;
    uint32_t last_used = 0;
    uint32_t restarts = 0;
    bool passive = false;
  };

  /// Up to `limit` sessions of a shard with ids greater than `after`, in id
  /// order, and whether more follow.
  std::vector<row> page(shard_address addr, const session_id* after,
                        size_t limit, bool& more) const;

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
    /// No actor until a message comes (see `passivate`).
    bool passive = false;
    /// An actor is being started for a passive session: not a restart.
    bool waking = false;
    /// Messages waiting for the session's next actor.
    std::unique_ptr<session_handover> handover;
  };

  struct shard {
    mutable std::mutex mtx;
    std::unordered_map<session_id, entry> sessions;
  };

  shard& shard_of(const session_id& id) const noexcept {
    auto a = address_of(id);
    return shards_table_[a.meta * shards_ + a.shard];
  }

  shard& at(shard_address a) const noexcept {
    return shards_table_[a.meta * shards_ + a.shard];
  }

  uint32_t metas_;
  uint32_t shards_;
  std::unique_ptr<shard[]> shards_table_;
  std::atomic<size_t> count_{0};
};

} // namespace mcpvisor::actors
