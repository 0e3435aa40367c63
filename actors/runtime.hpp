#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "actors/change_bus.hpp"
#include "actors/checkpoint_store.hpp"
#include "actors/metrics.hpp"
#include "actors/session_registry.hpp"
#include "actors/session_streams.hpp"
#include "actors/tree_config.hpp"
#include "actors/worker_pool.hpp"
#include "protocol/engine.hpp"
#include "supervision/andon.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::actors {

class upstream;
class cluster;
struct event;

/// When the overload monitor pulls and releases the andon cord
/// (docs/configuration.md, "Overload").
struct andon_config {
  /// How often the monitor samples.
  std::chrono::milliseconds interval{100};
  /// Queued work (requests in flight, see `queued_work`) that pulls the
  /// cord, and the level it must fall to before the monitor releases it.
  uint64_t queue_high = 20000;
  uint64_t queue_low = 2000;
  /// Messages waiting in one session's mailbox count at most this much
  /// towards queued work: a single flooded session is slowed by its own
  /// queue (its connections are not read while their requests wait)
  /// without stopping everyone.
  uint32_t session_share = 64;
  /// Resident memory that pulls the cord, in MiB (0: not watched); released
  /// below 90% of it.
  size_t rss_high_mb = 0;
  /// Open file descriptors that pull the cord (0: 90% of the process's
  /// limit); released below 80% of the limit.
  size_t fds_high = 0;
  /// Restarts per second anywhere in the tree that pull the cord; released
  /// below a tenth of it.
  uint64_t restarts_high = 5000;
};

/// Limits and timings of the MCP runtime (docs/configuration.md).
struct runtime_config {
  tree_config tree;
  stream_limits streams;
  /// Threads that run handlers marked `execution::worker`.
  size_t workers = 8;
  /// Handler runs waiting for a worker before new ones are refused.
  size_t worker_queue = 10000;
  /// A session not used for this long ends (clients that never say goodbye
  /// do not leak sessions).
  std::chrono::seconds idle_timeout{30 * 60};
  /// A session not used for this long drops its state (it stays in its
  /// checkpoint) until a client needs it again; 0: never.
  std::chrono::seconds sleep_after{10};
  /// A session that sleeps also gives up its actor (passivation): it
  /// costs its routing entry and its checkpoint, and its next message
  /// starts an actor again from the checkpoint.
  bool passivate = false;
  /// Sessions beyond this are refused (HTTP 503).
  size_t max_sessions = 200000;
  /// Calls a session may have in flight; more are refused.
  size_t max_calls_per_session = 64;
  /// Actors serving stateless (2026-07-28) requests.
  size_t stateless_actors = 4;
  /// Tasks of the tasks extension: TTL, poll interval, limits.
  protocol::task_limits tasks;
  /// Idempotency keys of tools/call: TTL and how many are kept.
  protocol::idempotency_limits idempotency;
  andon_config andon;
};

/// The current supervisor of each shard (null while it restarts), so that a
/// new session is started under its shard without asking a central actor.
/// One mutex per shard.
class shard_directory {
public:
  shard_directory(uint32_t metas, uint32_t shards_per_meta)
    : shards_(shards_per_meta),
      table_(std::make_unique<slot[]>(size_t{metas} * shards_per_meta)) {
    // nop
  }

  caf::actor get(shard_address a) const {
    auto& s = at(a);
    std::lock_guard<std::mutex> guard{s.mtx};
    return s.sup;
  }

  /// Called by the shard's start function on every (re)start.
  void set(shard_address a, caf::actor sup) {
    auto& s = at(a);
    std::lock_guard<std::mutex> guard{s.mtx};
    s.sup = std::move(sup);
  }

  /// Called when a shard supervisor exits: none until the next one starts.
  void clear_if(shard_address a, const caf::actor_addr& who) {
    auto& s = at(a);
    std::lock_guard<std::mutex> guard{s.mtx};
    if (caf::actor_cast<caf::actor_addr>(s.sup) == who)
      s.sup = caf::actor{};
  }

private:
  struct slot {
    mutable std::mutex mtx;
    caf::actor sup;
  };

  slot& at(shard_address a) const noexcept {
    return table_[a.meta * shards_ + a.shard];
  }

  uint32_t shards_;
  std::unique_ptr<slot[]> table_;
};

/// The tasks of the tasks extension (protocol/tasks.hpp) behind one lock.
/// They live outside the actors that run them, so a task outlives a crash
/// of its runner: it is run again or ends failed, never left working.
struct task_store {
  explicit task_store(protocol::task_limits limits) : table(limits) {
    // nop
  }
  std::mutex mtx;
  protocol::task_table table;
};

/// Idempotency keys and the answers of their runs (protocol/idempotency.hpp)
/// behind one lock, outside the actors: a retry after a crash finds them.
struct idempotency_store {
  explicit idempotency_store(protocol::idempotency_limits limits) : table(limits) {
    // nop
  }
  std::mutex mtx;
  protocol::idempotency_table table;
};

/// What every actor of the tree shares: configuration, the protocol engine's
/// server context, routing tables, checkpoints, mailbox gauges, the handler
/// pool and the change bus. Owned by the node; outlives every actor.
class runtime {
public:
  runtime(caf::actor_system& sys, runtime_config cfg,
          protocol::server_context* srv = nullptr)
    : sys_(sys),
      cfg_(cfg),
      srv_(srv),
      registry_(cfg.tree.meta_shards, cfg.tree.shards_per_meta),
      checkpoints_(cfg.tree.meta_shards, cfg.tree.shards_per_meta),
      shards_(cfg.tree.meta_shards, cfg.tree.shards_per_meta),
      workers_(srv != nullptr ? cfg.workers : 0, cfg.worker_queue),
      tasks_(cfg.tasks),
      idempotency_(cfg.idempotency),
      stateless_(std::make_unique<stateless_slot[]>(cfg.stateless_actors)) {
    // nop
  }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept {
    return sys_;
  }

  const runtime_config& config() const noexcept {
    return cfg_;
  }

  /// The MCP engine's shared context; null in a tree without MCP (tests,
  /// the tree benchmark).
  protocol::server_context* server() noexcept {
    return srv_;
  }

  session_registry& registry() noexcept {
    return registry_;
  }

  checkpoint_store& checkpoints() noexcept {
    return checkpoints_;
  }

  shard_directory& shards() noexcept {
    return shards_;
  }

  /// Mailbox gauges of the session actors.
  supervision::gauge_registry& gauges() noexcept {
    return gauges_;
  }

  /// Mailbox gauges of the stateless actors (shared by all clients, so
  /// counted in full by the overload monitor).
  supervision::gauge_registry& stateless_gauges() noexcept {
    return stateless_gauges_;
  }

  metrics& stats() noexcept {
    return metrics_;
  }

  supervision::andon_cord& andon() noexcept {
    return andon_;
  }

  worker_pool& workers() noexcept {
    return workers_;
  }

  change_bus& bus() noexcept {
    return bus_;
  }

  /// The actor serving stateless requests in slot `i` (null while it
  /// restarts).
  caf::actor stateless_actor(size_t i) const {
    auto& s = stateless_[i % cfg_.stateless_actors];
    std::lock_guard<std::mutex> guard{s.mtx};
    return s.actor;
  }

  /// Sends `in` to the first live stateless actor from slot `start` on;
  /// false if none is live. Sent under the slot's lock, so that an actor
  /// that clears its slot before it stops finds every message sent to it
  /// in its mailbox.
  bool send_stateless(size_t start, inbound_ptr& in);

  /// Sends `e` to the first live stateless actor from slot `start` on;
  /// false if none is live.
  bool send_stateless(size_t start, event e);

  task_store& tasks() noexcept {
    return tasks_;
  }

  idempotency_store& idempotency() noexcept {
    return idempotency_;
  }

  /// Keeps a request a crashed stateless actor had in flight, to run again,
  /// until a stateless actor starts and takes it (`take_parked_stateless`).
  void park_stateless(inbound_ptr in) {
    std::lock_guard<std::mutex> guard{parked_mtx_};
    parked_.push_back(std::move(in));
  }

  std::vector<inbound_ptr> take_parked_stateless() {
    std::vector<inbound_ptr> out;
    std::lock_guard<std::mutex> guard{parked_mtx_};
    out.swap(parked_);
    return out;
  }

  void set_stateless_actor(size_t i, caf::actor a) {
    std::lock_guard<std::mutex> guard{stateless_[i].mtx};
    stateless_[i].actor = std::move(a);
  }

  /// Forgets the stateless actor in slot `i` if it is still `who`.
  void clear_stateless_actor_if(size_t i, const caf::actor_addr& who) {
    auto& s = stateless_[i];
    std::lock_guard<std::mutex> guard{s.mtx};
    if (caf::actor_cast<caf::actor_addr>(s.actor) == who)
      s.actor = caf::actor{};
  }

  /// The root supervisor (null before the tree started).
  caf::actor root() const {
    std::lock_guard<std::mutex> guard{root_mtx_};
    return root_;
  }

  void set_root(caf::actor root) {
    std::lock_guard<std::mutex> guard{root_mtx_};
    root_ = std::move(root);
  }

  /// The upstream MCP servers this node fronts.
  std::vector<std::shared_ptr<upstream>>& upstreams() noexcept {
    return upstreams_;
  }

  /// The cluster this node is a member of; null when it is alone.
  cluster* clustered() const noexcept {
    return cluster_;
  }

  void set_cluster(cluster* c) noexcept {
    cluster_ = c;
  }

  /// Starts an actor for a passive session that has a message waiting
  /// (session.cpp); its shard takes it from the session's slot.
  void start_session(const session_id& id);

  /// A passive session expired: its checkpoint, its buddy's copy and its
  /// per-session upstream processes go (session.cpp).
  void forget_passive(const session_id& id);

  /// True once the node is stopping: sessions that stop now end for good
  /// instead of waiting for a restart.
  bool stopping() const noexcept {
    return stopping_.load(std::memory_order_acquire);
  }

  void set_stopping() noexcept {
    stopping_.store(true, std::memory_order_release);
  }

private:
  caf::actor_system& sys_;
  runtime_config cfg_;
  protocol::server_context* srv_;
  session_registry registry_;
  checkpoint_store checkpoints_;
  shard_directory shards_;
  supervision::gauge_registry gauges_;
  supervision::gauge_registry stateless_gauges_;
  metrics metrics_;
  supervision::andon_cord andon_;
  worker_pool workers_;
  change_bus bus_;
  task_store tasks_;
  idempotency_store idempotency_;
  std::mutex parked_mtx_;
  std::vector<inbound_ptr> parked_;
  struct stateless_slot {
    mutable std::mutex mtx;
    caf::actor actor;
  };
  std::unique_ptr<stateless_slot[]> stateless_;
  mutable std::mutex root_mtx_;
  caf::actor root_;
  std::vector<std::shared_ptr<upstream>> upstreams_;
  cluster* cluster_ = nullptr;
  std::atomic<bool> stopping_{false};
};

} // namespace mcpvisor::actors
