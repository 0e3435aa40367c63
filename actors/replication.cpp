// Checkpoint replication: every change of a session's checkpoint (what it
// keeps for crash recovery) is queued here without blocking the session,
// coalesced per session, and sent in batches to the session's buddy, with
// at most a few batches unacknowledged per buddy (CAF's middleman has no
// backpressure of its own). The buddy keeps the replicas; when the owner
// goes down it takes the sessions over, and when the members change each
// node sends the sessions it holds to their new buddies.

#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster.hpp"
#include "actors/cluster_wire.hpp"
#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace {

using flush_atom = caf::atom_constant<caf::atom("clflush")>;
using rep_tick_atom = caf::atom_constant<caf::atom("clreptick")>;

/// Batches unacknowledged per buddy, and replicas per batch.
constexpr size_t window = 4;
constexpr size_t batch_size = 2000;
constexpr auto tick_every = std::chrono::milliseconds{200};
/// How often replicas that no owner sends here any more are looked for; one
/// seen twice in a row is dropped.
constexpr auto stale_every = std::chrono::seconds{30};

} // namespace

// -- the queue (any thread) -----------------------------------------------------------

void cluster::replicate(const session_id& id, std::string_view checkpoint) {
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{rep_mtx_};
    first = pending_.empty();
    pending_[id] = std::string{checkpoint};
  }
  if (first)
    if (auto r = replicator())
      caf::anon_send(r, flush_atom::value);
}

void cluster::replicate_erase(const session_id& id) {
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{rep_mtx_};
    first = pending_.empty();
    pending_[id] = std::nullopt;
  }
  if (first)
    if (auto r = replicator())
      caf::anon_send(r, flush_atom::value);
}

void cluster::requeue(std::unordered_map<session_id, std::optional<std::string>> later) {
  std::lock_guard<std::mutex> guard{rep_mtx_};
  for (auto& [id, data] : later)
    pending_.try_emplace(id, std::move(data)); // a newer one stays
}

std::unordered_map<session_id, std::optional<std::string>> cluster::take_pending() {
  std::lock_guard<std::mutex> guard{rep_mtx_};
  return std::exchange(pending_, {});
}

size_t cluster::pending() const {
  std::lock_guard<std::mutex> guard{rep_mtx_};
  return pending_.size();
}

bool cluster::adopt(const session_id& id, std::string given) {
  bool adopted = false;
  bool registered = false;
  replicas_.take(id, [&](std::string bytes) {
    if (!given.empty())
      bytes = std::move(given);
    if (bytes.empty())
      return;
    auto& reg = rt_.registry();
    if (reg.known(id)) {
      registered = true;
      return;
    }
    rt_.checkpoints().save(id, bytes);
    // sessions taken over are not refused for the session limit: they
    // were accepted once already
    if (reg.register_name(id, nullptr, static_cast<size_t>(-1))
        != session_registry::registered::ok)
      return;
    adopted = true;
    // the shard starts its actor, which continues from the checkpoint; a
    // shard that is restarting starts it with its other sessions
    if (auto sup = rt_.shards().get(reg.address_of(id)))
      caf::anon_send(sup, supervision::start_child_atom::value, id.to_string(),
                     caf::message{});
    replicate(id, bytes);
  });
  if (adopted) {
    counters_.adopted.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // another thread took it over first
  return registered || rt_.registry().known(id);
}

namespace {

// -- the replicator --------------------------------------------------------------------

class replicator_actor : public caf::event_based_actor {
public:
  replicator_actor(caf::actor_config& cfg, runtime& rt, cluster& c)
    : caf::event_based_actor(cfg), rt_(rt), cl_(c) {
    // nop
  }

  const char* name() const override {
    return "cluster-replicator";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    cl_.set_replicator(caf::actor_cast<caf::actor>(this));
    view_ = cl_.members();
    delayed_send(this, tick_every, rep_tick_atom::value);
    last_stale_ = std::chrono::steady_clock::now();
    return {
      [this](flush_atom) { flush(); },
      [this](rep_tick_atom) {
        flush();
        if (std::chrono::steady_clock::now() - last_stale_ >= stale_every) {
          last_stale_ = std::chrono::steady_clock::now();
          drop_stale();
        }
        delayed_send(this, tick_every, rep_tick_atom::value);
      },
      // replicas from a node that holds the sessions
      [this](wire::replica_batch& b) -> caf::result<wire::replica_ack_atom, uint64_t> {
        auto& reg = rt_.registry();
        for (auto& e : b.entries) {
          auto id = session_id::from_parts(e.id.hi, e.id.lo, e.id.origin);
          if (e.erase)
            cl_.replicas().erase(id);
          else if (!reg.known(id)) // a session held here is newer than any copy
            cl_.replicas().save(id, e.checkpoint);
        }
        cl_.counters().replicas_received.fetch_add(b.entries.size(),
                                                   std::memory_order_relaxed);
        return {wire::replica_ack_atom::value, b.seq};
      },
      // the members changed
      [this](caf::update_atom) { members_changed(); },
    };
  }

private:
  struct in_flight {
    std::string buddy;
    std::chrono::steady_clock::time_point sent;
  };

  /// Sends what is queued to the buddies whose window has room; the rest
  /// waits (newer checkpoints of the same sessions replace it meanwhile).
  void flush() {
    auto pending = cl_.take_pending();
    if (pending.empty())
      return;
    auto view = cl_.members();
    std::map<const cluster_member*, std::vector<wire::replica>> by_buddy;
    std::unordered_map<session_id, std::optional<std::string>> later;
    for (auto& [id, data] : pending) {
      auto* buddy = view->successor(id);
      if (buddy == nullptr || !buddy->replicator)
        continue; // alone: nobody to keep a copy
      if (unacked_[buddy->name] >= window) {
        later.emplace(id, std::move(data));
        continue;
      }
      wire::replica r;
      r.id = {id.hi(), id.lo(), id.origin()};
      r.erase = !data.has_value();
      if (data)
        r.checkpoint = std::move(*data);
      by_buddy[buddy].push_back(std::move(r));
    }
    for (auto& [buddy, entries] : by_buddy) {
      for (size_t at = 0; at < entries.size(); at += batch_size) {
        wire::replica_batch b;
        b.seq = next_seq_++;
        auto end = std::min(entries.size(), at + batch_size);
        b.entries.assign(std::make_move_iterator(entries.begin() + static_cast<long>(at)),
                         std::make_move_iterator(entries.begin() + static_cast<long>(end)));
        cl_.counters().replicated.fetch_add(b.entries.size(), std::memory_order_relaxed);
        cl_.counters().replication_batches.fetch_add(1, std::memory_order_relaxed);
        ++unacked_[buddy->name];
        sent_[b.seq] = {buddy->name, std::chrono::steady_clock::now()};
        request(buddy->replicator, std::chrono::seconds{30}, std::move(b))
          .then([this](wire::replica_ack_atom, uint64_t seq) { acked(seq); },
                [this, seq = next_seq_ - 1](caf::error&) { acked(seq); });
      }
    }
    // what waits for a full window goes back (the tick sends it)
    if (!later.empty())
      cl_.requeue(std::move(later));
  }

  void acked(uint64_t seq) {
    auto i = sent_.find(seq);
    if (i == sent_.end())
      return;
    auto lag = std::chrono::steady_clock::now() - i->second.sent;
    cl_.counters().replication_lag_us.store(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(lag).count()),
      std::memory_order_relaxed);
    if (auto& n = unacked_[i->second.buddy]; n > 0)
      --n;
    sent_.erase(i);
  }

  /// Takes over the sessions whose owner is gone and that this node holds
  /// replicas of, and sends the sessions held here whose buddy changed to
  /// the new buddy.
  void members_changed() {
    auto old = view_;
    view_ = cl_.members();
    // windows towards members that are gone will never be acknowledged
    for (auto i = sent_.begin(); i != sent_.end();) {
      auto* m = view_->find(i->second.buddy);
      if (m == nullptr || !m->live()) {
        unacked_.erase(i->second.buddy);
        i = sent_.erase(i);
      } else {
        ++i;
      }
    }
    if (!view_->quorum()) {
      log::warn("this node sees fewer than half of the cluster's members; it takes no "
                "session over",
                {{"node", cl_.name()}, {"live", std::to_string(view_->live())}});
      return;
    }
    std::vector<session_id> mine;
    cl_.replicas().for_each([&](const session_id& id, std::string_view) {
      if (auto* o = view_->owner(id); o != nullptr && o->self)
        mine.push_back(id);
    });
    size_t taken = 0;
    for (auto& id : mine)
      taken += cl_.adopt(id) ? 1 : 0;
    if (taken > 0)
      log::info("sessions taken over from their replicas",
                {{"node", cl_.name()}, {"sessions", std::to_string(taken)}});
    // sessions held here whose buddy is another one now
    size_t moved = 0;
    rt_.checkpoints().for_each([&](const session_id& id, std::string_view cp) {
      auto* before = old->successor(id);
      auto* now = view_->successor(id);
      if (now != nullptr
          && (before == nullptr || before->name != now->name
              || before->incarnation != now->incarnation)) {
        cl_.replicate(id, cp);
        ++moved;
      }
    });
    if (moved > 0)
      log::info("sessions replicated to new buddies",
                {{"node", cl_.name()}, {"sessions", std::to_string(moved)}});
    flush();
  }

  /// Drops replicas that their owner sends to another buddy now (seen so in
  /// two sweeps in a row, so that a replica is never dropped while the
  /// members settle).
  void drop_stale() {
    auto view = cl_.members();
    std::set<session_id> stale;
    cl_.replicas().for_each([&](const session_id& id, std::string_view) {
      auto* owner = view->owner(id);
      if (owner == nullptr || owner->self)
        return;
      auto* keeper = view->successor(id, owner);
      if (keeper != nullptr && !keeper->self)
        stale.insert(id);
    });
    for (auto& id : stale)
      if (stale_.count(id) != 0)
        cl_.replicas().erase(id);
    stale_ = std::move(stale);
  }

  runtime& rt_;
  cluster& cl_;
  std::shared_ptr<const cluster_members> view_;
  std::map<std::string, size_t> unacked_;
  std::map<uint64_t, in_flight> sent_;
  uint64_t next_seq_ = 1;
  std::set<session_id> stale_;
  std::chrono::steady_clock::time_point last_stale_;
};

} // namespace

caf::actor spawn_replicator(runtime& rt, cluster& c) {
  return rt.system().spawn<replicator_actor>(rt, c);
}

} // namespace mcpvisor::actors
