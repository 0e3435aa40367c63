#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include "actors/checkpoint_store.hpp"
#include "actors/messages.hpp"
#include "actors/ownership.hpp"
#include "protocol/auth.hpp"
#include "supervision/child_spec.hpp"

/// A cluster of mcpvisor nodes joined by CAF's io middleman over mutual TLS
/// (libcaf-openssl), in which any node serves any session and a session
/// outlives the node it was born on (docs/operations.md, "Running a
/// cluster").
///
/// Three actors per node, children of the root:
/// - membership (cluster.cpp): joins the seeds, keeps the full mesh, sees
///   members go down, tells peers what this node holds, drains the node on
///   SIGTERM;
/// - router (forwarding.cpp): requests for sessions owned elsewhere go to
///   the owner's router, their answers come back to the router of the node
///   that holds the client's connection;
/// - replicator (replication.cpp): every checkpoint change goes to the
///   session's buddy, which takes the session over when its owner dies.
///
/// What they share lives in `cluster`, which any thread reads: the members
/// (one immutable value, swapped whole), the exchanges forwarded to other
/// nodes, the replicas this node holds for others, and counters.
namespace mcpvisor::actors {

class runtime;

/// docs/operations.md, "Running a cluster".
struct cluster_config {
  /// HOST:PORT of the cluster port; empty: the node is alone.
  std::string listen;
  /// Seed nodes (HOST:PORT), tried until one answers, and again whenever
  /// none is a member.
  std::vector<std::string> join;
  /// Stable across restarts; the listen address unless set.
  std::string node_name;
  /// PEM files: this node's certificate and key, and the cluster's CA,
  /// which every peer's certificate must be signed by.
  std::string cert;
  std::string key;
  std::string ca;
  /// A file with a secret every node shares (at least 32 bytes): cursors
  /// and requestState sealed by one node open on any other.
  std::string secret_file;
  /// How often a node sends heartbeats to its peers, and how long a peer
  /// may stay silent before its connection is dropped (and it is down).
  std::chrono::milliseconds heartbeat{std::chrono::milliseconds{500}};
  std::chrono::milliseconds timeout{std::chrono::milliseconds{3000}};
  /// Draining: how long no new request may arrive before the node leaves,
  /// and the longest a drain may take.
  std::chrono::milliseconds drain_quiet{std::chrono::milliseconds{1000}};
  std::chrono::milliseconds drain_limit{std::chrono::seconds{30}};

  bool enabled() const noexcept {
    return !listen.empty();
  }

  /// What the node calls itself.
  std::string name() const {
    return node_name.empty() ? listen : node_name;
  }
};

/// Splits HOST:PORT; false if it is not that.
bool split_host_port(const std::string& s, std::string& host, uint16_t& port);

/// One member as this node sees it.
struct cluster_member {
  enum class state_t : uint8_t { up, draining, down };

  std::string name;
  /// Its cluster port, HOST:PORT.
  std::string address;
  state_t state = state_t::up;
  bool self = false;
  /// stable_hash(name), and when its process started (cluster_clock_ms).
  uint64_t name_hash = 0;
  uint64_t incarnation = 0;
  /// Its sessions and andon cord, as it last said (every second).
  uint64_t sessions = 0;
  bool andon_pulled = false;
  /// Since when it is in its state.
  std::chrono::system_clock::time_point since;
  caf::actor membership;
  caf::actor router;
  caf::actor replicator;

  bool live() const noexcept {
    return state != state_t::down;
  }

  static std::string_view name_of(state_t s) noexcept;
};

/// The members as one value, swapped whole whenever anything changes, so
/// that routing a request reads one consistent view without a lock.
class cluster_members {
public:
  cluster_members() = default;

  /// `all` must hold this node (self) exactly once.
  explicit cluster_members(std::vector<cluster_member> all);

  const std::vector<cluster_member>& all() const noexcept {
    return all_;
  }

  const cluster_member& self() const noexcept {
    return all_[self_];
  }

  const cluster_member* find(std::string_view name) const;

  /// The owner of `id` among the live members (null if none).
  const cluster_member* owner(const session_id& id) const;

  /// Where `holder` (this node unless given) sends the replica of a
  /// session it holds, and where it moves the session when it drains: the
  /// owner once `holder` is gone, preferring members that are not
  /// draining. Null for a node alone.
  const cluster_member* successor(const session_id& id,
                                  const cluster_member* holder = nullptr) const;

  /// Live members, and how many members that are not gone for good there
  /// are: a node that sees fewer than half of them does not take sessions
  /// over (it may be the one cut off).
  size_t live() const noexcept {
    return live_keys_.size();
  }

  bool quorum() const noexcept {
    return 2 * live_keys_.size() >= known_;
  }

private:
  std::vector<cluster_member> all_;
  size_t self_ = 0;
  size_t known_ = 0;
  /// Live members (up or draining) and, separately, those up.
  std::vector<member_key> live_keys_;
  std::vector<size_t> live_index_;
  std::vector<member_key> up_keys_;
  std::vector<size_t> up_index_;
};

/// Counters of /metrics (relaxed atomics).
struct cluster_counters {
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> forwarded_in{0};
  std::atomic<uint64_t> rerouted{0};
  std::atomic<uint64_t> forward_refused{0};
  std::atomic<uint64_t> replicated{0};
  std::atomic<uint64_t> replicas_received{0};
  std::atomic<uint64_t> replication_batches{0};
  /// The last batch's time from sending to its acknowledgement.
  std::atomic<uint64_t> replication_lag_us{0};
  std::atomic<uint64_t> adopted{0};
  std::atomic<uint64_t> moved_out{0};
  std::atomic<uint64_t> member_downs{0};
  std::atomic<uint64_t> member_ups{0};
};

/// Computes this node's supervision tree as JSON, `depth` levels deep, for
/// a peer's admin view (set by the program; see admin.hpp).
using tree_provider
  = std::function<void(int depth, std::function<void(int status, std::string body)>)>;

/// What the cluster's actors and the gateway share.
class cluster {
public:
  cluster(runtime& rt, cluster_config cfg);
  ~cluster();

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  const cluster_config& config() const noexcept {
    return cfg_;
  }

  const std::string& name() const noexcept {
    return name_;
  }

  /// The tag that this node's session ids carry.
  uint32_t tag() const noexcept {
    return node_tag(name_);
  }

  uint64_t incarnation() const noexcept {
    return incarnation_;
  }

  cluster_counters& counters() noexcept {
    return counters_;
  }

  // -- members ----------------------------------------------------------------

  std::shared_ptr<const cluster_members> members() const {
    return members_.load(std::memory_order_acquire);
  }

  /// Called by the membership actor alone.
  void set_members(std::shared_ptr<const cluster_members> m) {
    members_.store(std::move(m), std::memory_order_release);
  }

  /// A live peer that can take a new session when this node cannot (its
  /// cord is pulled, or it drains): not draining, cord not pulled, fewest
  /// sessions. Null if none.
  const cluster_member* placement(const cluster_members& m) const;

  // -- routing (the gateway) ----------------------------------------------------

  /// An exchange forwarded from here, until it is answered.
  struct forwarded {
    uint64_t key = 0;
    channel_ptr ch;
    std::string target;
    uint8_t kind = 0;
    uint8_t hops = 0;
    std::string session;
    std::string body;
    std::string last_event_id;
    protocol::principal_ptr who;
    std::chrono::steady_clock::time_point sent;
  };


  struct located {
    enum class kind_t { local, forward, unknown, unavailable } kind = kind_t::unknown;
    /// forward: where to.
    const cluster_member* to = nullptr;
    /// Keeps `to` alive.
    std::shared_ptr<const cluster_members> view;
  };

  /// Where a session that is not registered here is: here after all (this
  /// node owns it and took it over from its replica just now), on another
  /// node (its owner, or where a drain moved it), nowhere (unknown), or
  /// not reachable now (this node does not see enough of the cluster).
  located locate(const session_id& id);

  /// Sends `in` for session `session` (empty: an initialize that another
  /// node creates; with `stateless`, a stateless request) to `to`'s router; its answers come back to `in->ch`.
  /// `hops`: nodes the message passed before this one. False if too many
  /// exchanges wait for `to` already.
  bool forward(const cluster_member& to, std::string_view session, const inbound& in,
               uint8_t hops, bool stateless = false);

  /// Exchanges forwarded from here and not answered yet (streams apart).
  size_t forwarding() const;

  /// The `n` oldest of them (the admin view: what this node waits for).
  std::vector<forwarded> oldest_forwarded(size_t n) const;

  // -- the router's side (forwarding.cpp) ------------------------------------------


  /// Takes the exchange `key` if `final`, else returns its channel.
  channel_ptr answer(uint64_t key, bool final);

  /// Takes every exchange forwarded to `member` (it is down).
  std::vector<forwarded> take_forwarded_to(const std::string& member);

  /// Takes exchanges whose client went away.
  std::vector<forwarded> take_abandoned();

  /// Takes forwarded streams (GET) of this node's clients: a draining node
  /// closes them so that their clients resume through another node.
  std::vector<forwarded> take_streams();

  void set_router(caf::actor a) {
    std::lock_guard<std::mutex> guard{mtx_};
    router_ = std::move(a);
  }

  void set_replicator(caf::actor a) {
    std::lock_guard<std::mutex> guard{mtx_};
    replicator_ = std::move(a);
  }

  void set_membership(caf::actor a) {
    std::lock_guard<std::mutex> guard{mtx_};
    membership_ = std::move(a);
  }

  caf::actor router() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return router_;
  }

  caf::actor replicator() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return replicator_;
  }

  caf::actor membership() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return membership_;
  }

  /// True while node `n` (an origin of forwarded exchanges) is up; the
  /// flag turns false when it goes down.
  std::shared_ptr<std::atomic<bool>> origin_flag(const caf::node_id& n);
  void origin_down(const caf::node_id& n);

  // -- replicas (replication.cpp) -------------------------------------------------

  /// Queues the checkpoint of a session held here for its buddy; never
  /// blocks on the network.
  void replicate(const session_id& id, std::string_view checkpoint);

  /// The session ended for good: its buddy drops the replica.
  void replicate_erase(const session_id& id);

  /// Takes the queued replicas (id → checkpoint, or nullopt: erase).
  std::unordered_map<session_id, std::optional<std::string>> take_pending();

  /// Puts back what could not be sent yet, unless something newer of the
  /// same session was queued meanwhile.
  void requeue(std::unordered_map<session_id, std::optional<std::string>> later);

  size_t pending() const;

  /// Replicas this node holds for sessions owned elsewhere.
  checkpoint_store& replicas() noexcept {
    return replicas_;
  }

  /// Takes session `id` over from its replica (or from `checkpoint`, which
  /// a draining node sent): registered here, its actor started, and its
  /// checkpoint queued for its new buddy. False if there is nothing to
  /// take over.
  bool adopt(const session_id& id, std::string checkpoint = {});

  // -- draining ---------------------------------------------------------------------

  bool draining() const noexcept {
    return draining_.load(std::memory_order_acquire);
  }

  void set_draining() noexcept {
    draining_.store(true, std::memory_order_release);
  }

  /// Asks the membership actor to drain the node (SIGTERM); the node stops
  /// once its sessions have moved and no client waits for it.
  void drain();

  /// A draining session moves to `to`: its checkpoint goes to `to`'s
  /// router, and from now on what arrives here for it follows it there.
  void move_session(const cluster_member& to, const session_id& id,
                    std::string checkpoint);

  // -- the admin view -------------------------------------------------------------

  void set_tree_provider(tree_provider p);
  tree_provider tree() const;

  /// The tree of member `name` (status 404 if there is none), answered
  /// through `done` on an actor's thread.
  void remote_tree(const std::string& name, int depth,
                   std::function<void(int status, std::string body)> done);

private:
  runtime& rt_;
  cluster_config cfg_;
  std::string name_;
  uint64_t incarnation_;
  cluster_counters counters_;
  std::atomic<std::shared_ptr<const cluster_members>> members_;
  std::atomic<bool> draining_{false};

  mutable std::mutex mtx_;
  caf::actor router_;
  caf::actor replicator_;
  caf::actor membership_;
  tree_provider tree_;
  std::map<caf::node_id, std::shared_ptr<std::atomic<bool>>> origins_;
  /// Sessions a drain moved away, and where.
  std::unordered_map<session_id, std::string> moved_;

  // forwarded exchanges, by key
  mutable std::mutex fwd_mtx_;
  std::unordered_map<uint64_t, forwarded> forwarded_;
  std::unordered_map<std::string, size_t> per_target_;
  std::atomic<uint64_t> next_key_{1};

  // replication
  mutable std::mutex rep_mtx_;
  std::unordered_map<session_id, std::optional<std::string>> pending_;
  checkpoint_store replicas_;
};

/// The membership, router and replicator actors as children of the root.
std::vector<supervision::child_spec> cluster_children(runtime& rt, cluster& c);

/// Registers the types that cross the cluster port (both ends).
void add_cluster_types(caf::actor_system_config& cfg);

} // namespace mcpvisor::actors
