#include "actors/cluster.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/cluster_wire.hpp"
#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "actors/session.hpp"
#include "supervision/errors.hpp"

namespace {

/// Set on the thread of CAF's I/O multiplexer (see SSL_get_error below).
thread_local bool on_middleman_thread = false;

/// HOST:PORT of the other end of socket `fd`.
std::string peer_of(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return "unknown";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return std::string{host} + ":" + std::to_string(port);
}

/// What the admin endpoint asks the membership actor for: a member's tree.
struct tree_request {
  std::string node;
  int depth = 0;
  std::function<void(int, std::string)> done;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tree_request)

// CAF 0.17's openssl module leaves the errors of a failed TLS session in
// the OpenSSL error queue of its I/O thread (libcaf_openssl session.cpp,
// handle_ssl_result). The next healthy session on that thread that only
// waits for more data then reads as failed, and its connection is dropped:
// one refused intruder cut a node off from all its peers. This definition,
// which the dynamic linker binds ahead of libssl's, clears the queue on
// that thread once a failure has been told apart, as the module should.
// It also says why a peer was refused (a certificate of another CA, none,
// not TLS at all), which the module does not.
extern "C" int SSL_get_error(const SSL* ssl, int ret) {
  using real_fn = int (*)(const SSL*, int);
  static const auto real = reinterpret_cast<real_fn>(dlsym(RTLD_NEXT, "SSL_get_error"));
  int err = real(ssl, ret);
  if (!on_middleman_thread || (err != SSL_ERROR_SSL && err != SSL_ERROR_SYSCALL))
    return err;
  // at most 20 lines a second: a flood of garbage does not flood the log
  thread_local auto window = std::chrono::steady_clock::now();
  thread_local int logged = 0;
  auto now = std::chrono::steady_clock::now();
  if (now - window >= std::chrono::seconds{1}) {
    window = now;
    logged = 0;
  }
  if (err == SSL_ERROR_SSL && logged++ < 20)
    if (auto code = ERR_peek_error()) {
      char why[256];
      ERR_error_string_n(code, why, sizeof(why));
      mcpvisor::log::warn("cluster TLS session refused",
                          {{"peer", peer_of(SSL_get_fd(ssl))}, {"reason", why}});
    }
  ERR_clear_error();
  return err;
}

namespace mcpvisor::actors {

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  auto tail = std::string_view{s}.substr(colon + 1);
  auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), p);
  if (ec != std::errc{} || end != tail.data() + tail.size() || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

std::string_view cluster_member::name_of(state_t s) noexcept {
  switch (s) {
    case state_t::up:
      return "up";
    case state_t::draining:
      return "draining";
    case state_t::down:
      return "down";
  }
  return "down";
}

// -- cluster_members ------------------------------------------------------------

cluster_members::cluster_members(std::vector<cluster_member> all) : all_(std::move(all)) {
  for (size_t i = 0; i < all_.size(); ++i) {
    auto& m = all_[i];
    if (m.self)
      self_ = i;
    ++known_;
    if (!m.live())
      continue;
    live_keys_.push_back({m.name_hash, m.incarnation});
    live_index_.push_back(i);
    if (m.state == cluster_member::state_t::up) {
      up_keys_.push_back({m.name_hash, m.incarnation});
      up_index_.push_back(i);
    }
  }
}

const cluster_member* cluster_members::find(std::string_view name) const {
  for (auto& m : all_)
    if (m.name == name)
      return &m;
  return nullptr;
}

const cluster_member* cluster_members::owner(const session_id& id) const {
  auto i = owner_of(id, live_keys_);
  return i == no_member ? nullptr : &all_[live_index_[i]];
}

const cluster_member* cluster_members::successor(const session_id& id,
                                                const cluster_member* holder) const {
  auto held_by = holder != nullptr ? static_cast<size_t>(holder - all_.data()) : self_;
  // among the members that are up (a draining one is about to leave), or,
  // if none is, among the live ones
  auto pick = [&](const std::vector<member_key>& keys,
                  const std::vector<size_t>& index) -> const cluster_member* {
    size_t skip = no_member;
    for (size_t k = 0; k < index.size(); ++k)
      if (index[k] == held_by)
        skip = k;
    auto i = owner_of(id, keys, skip);
    return i == no_member ? nullptr : &all_[index[i]];
  };
  if (auto* m = pick(up_keys_, up_index_))
    return m;
  return pick(live_keys_, live_index_);
}

// -- cluster ----------------------------------------------------------------------

cluster::cluster(runtime& rt, cluster_config cfg)
  : rt_(rt),
    cfg_(std::move(cfg)),
    name_(cfg_.name()),
    incarnation_(cluster_clock_ms()),
    replicas_(rt.config().tree.meta_shards, rt.config().tree.shards_per_meta) {
  cluster_member self;
  self.name = name_;
  self.address = cfg_.listen;
  self.self = true;
  self.name_hash = stable_hash(name_);
  self.incarnation = incarnation_;
  self.since = std::chrono::system_clock::now();
  members_.store(std::make_shared<const cluster_members>(
    std::vector<cluster_member>{std::move(self)}));
}

cluster::~cluster() = default;

const cluster_member* cluster::placement(const cluster_members& m) const {
  const cluster_member* best = nullptr;
  for (auto& p : m.all())
    if (!p.self && p.state == cluster_member::state_t::up && !p.andon_pulled && p.router
        && (best == nullptr || p.sessions < best->sessions))
      best = &p;
  return best;
}

cluster::located cluster::locate(const session_id& id) {
  located res;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = moved_.find(id); i != moved_.end()) {
      res.view = members();
      res.to = res.view->find(i->second);
      res.kind = res.to != nullptr && res.to->live() ? located::kind_t::forward
                                                     : located::kind_t::unavailable;
      return res;
    }
  }
  res.view = members();
  auto* owner = res.view->owner(id);
  if (owner == nullptr || owner->self) {
    // this node owns it: a session whose owner died is taken over from its
    // replica the first time it is asked for (or the sweep did already)
    if (!res.view->quorum()) {
      res.kind = located::kind_t::unavailable;
      return res;
    }
    res.kind = adopt(id) ? located::kind_t::local : located::kind_t::unknown;
    return res;
  }
  if (!owner->router) {
    res.kind = located::kind_t::unavailable;
    return res;
  }
  res.to = owner;
  res.kind = located::kind_t::forward;
  return res;
}

std::shared_ptr<std::atomic<bool>> cluster::origin_flag(const caf::node_id& n) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& f = origins_[n];
  if (f == nullptr)
    f = std::make_shared<std::atomic<bool>>(true);
  return f;
}

void cluster::origin_down(const caf::node_id& n) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = origins_.find(n); i != origins_.end()) {
    i->second->store(false, std::memory_order_release);
    origins_.erase(i);
  }
}

void cluster::drain() {
  if (auto m = membership())
    caf::anon_send(m, caf::close_atom::value);
}

void cluster::move_session(const cluster_member& to, const session_id& id,
                           std::string checkpoint) {
  caf::anon_send(to.router, wire::move_atom::value,
                 wire::session_ref{id.hi(), id.lo(), id.origin()}, std::move(checkpoint));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    moved_[id] = to.name;
  }
  counters_.moved_out.fetch_add(1, std::memory_order_relaxed);
}

void cluster::set_tree_provider(tree_provider p) {
  std::lock_guard<std::mutex> guard{mtx_};
  tree_ = std::move(p);
}

tree_provider cluster::tree() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return tree_;
}

void cluster::remote_tree(const std::string& name, int depth,
                          std::function<void(int, std::string)> done) {
  auto m = membership();
  if (!m) {
    done(503, R"({"error":"the cluster is not running"})");
    return;
  }
  caf::anon_send(m, tree_request{name, depth, std::move(done)});
}

void add_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<wire::member_card>("mcpvisor_member_card");
  cfg.add_message_type<wire::fwd_request>("mcpvisor_fwd_request");
  cfg.add_message_type<wire::fwd_reply>("mcpvisor_fwd_reply");
  cfg.add_message_type<wire::session_ref>("mcpvisor_session_ref");
  cfg.add_message_type<wire::replica>("mcpvisor_replica");
  cfg.add_message_type<wire::replica_batch>("mcpvisor_replica_batch");
}

// -- the membership actor -----------------------------------------------------------

namespace {

using tick_atom = caf::atom_constant<caf::atom("cltick")>;
using drain_tick_atom = caf::atom_constant<caf::atom("cldrain")>;
using tree_done_atom = caf::atom_constant<caf::atom("cltreedone")>;

/// Members are told every this often what this node holds, and seeds that
/// are not members are tried again.
constexpr auto tick_every = std::chrono::seconds{1};
/// A member down this long is forgotten (it no longer counts towards the
/// quorum); one that left on purpose, at once.
constexpr auto forget_after = std::chrono::minutes{10};

class membership_actor : public caf::event_based_actor {
public:
  membership_actor(caf::actor_config& cfg, runtime& rt, cluster& c)
    : caf::event_based_actor(cfg), rt_(rt), cl_(c), name_(c.name()) {
    // nop
  }

  const char* name() const override {
    return "cluster";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    system().middleman().backend().post([] { on_middleman_thread = true; });
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    std::string host;
    uint16_t port = 0;
    const auto& cfg = cl_.config();
    if (!split_host_port(cfg.listen, host, port))
      throw std::runtime_error("--cluster-listen must be HOST:PORT, not " + cfg.listen);
    cl_.set_membership(caf::actor_cast<caf::actor>(this));
    // this node's own entry comes from the current view (a restart of this
    // actor keeps what it knew)
    for (auto& m : cl_.members()->all())
      members_[m.name] = m;
    publish();
    request(mm(), caf::infinite, caf::publish_atom::value, port,
            caf::actor_cast<caf::strong_actor_ptr>(this), std::set<std::string>{}, host, true)
      .then(
        [this](uint16_t bound) {
          log::info("cluster port open",
                    {{"node", name_}, {"port", std::to_string(bound)}});
          seek();
        },
        [this](caf::error& err) {
          // the root restarts it, and gives up (the process exits) if the
          // port stays closed
          quit(std::move(err));
        });
    delayed_send(this, tick_every, tick_atom::value);
    return {
      [this](wire::join_atom, wire::member_card& who)
        -> caf::result<std::vector<wire::member_card>> {
        if (who.name == name_)
          return caf::make_error(caf::sec::invalid_argument,
                                 "a node named " + who.name + " is already a member");
        if (is_fenced(who)) {
          if (outranks(who))
            return caf::make_error(caf::sec::invalid_argument,
                                   "fenced: " + name_ + " saw this incarnation of " + who.name
                                     + " go down; it must restart");
          fenced_.erase(who.name); // this node was the one cut off
        }
        for (auto& [n, e] : members_)
          if (n != who.name && e.live() && node_tag(n) == node_tag(who.name))
            return caf::make_error(caf::sec::invalid_argument,
                                   "the node name " + who.name + " has the same tag as "
                                     + n + "; choose another name");
        add(who);
        std::vector<wire::member_card> cards{card_of(members_[name_])};
        for (auto& [n, e] : members_)
          if (n != name_ && e.live())
            cards.push_back(card_of(e));
        return cards;
      },
      [this](wire::stats_atom, wire::member_card& who) { update(who); },
      [this](wire::leave_atom, std::string& who, uint64_t incarnation) {
        auto it = members_.find(who);
        if (it != members_.end() && it->second.incarnation == incarnation
            && it->second.live())
          gone(it->second, "it left the cluster", true);
      },
      [this](tick_atom) {
        tick();
        delayed_send(this, tick_every, tick_atom::value);
      },
      [this](caf::close_atom) { start_drain(); },
      [this](wire::fence_atom, const std::string& why) { fence(why); },
      [this](drain_tick_atom) { drain_tick(); },
      // a peer asks for this node's tree
      [this](wire::tree_atom, int depth) -> caf::result<int32_t, std::string> {
        auto provider = cl_.tree();
        if (!provider)
          return caf::result<int32_t, std::string>{int32_t{503},
                                                   std::string{R"({"error":"no tree"})"}};
        auto rp = make_response_promise<int32_t, std::string>();
        auto token = next_tree_++;
        trees_.emplace(token, rp);
        provider(depth, [self = caf::actor_cast<caf::actor>(this), token](int status,
                                                                          std::string body) {
          caf::anon_send(self, tree_done_atom::value, token, int32_t{status},
                         std::move(body));
        });
        return rp;
      },
      [this](tree_done_atom, uint64_t token, int32_t status, std::string& body) {
        if (auto i = trees_.find(token); i != trees_.end()) {
          i->second.deliver(status, std::move(body));
          trees_.erase(i);
        }
      },
      // the admin endpoint asks for a member's tree
      [this](tree_request& r) {
        auto it = members_.find(r.node);
        if (it == members_.end() || !it->second.live()) {
          r.done(404, R"({"error":"no live member of that name"})");
          return;
        }
        if (it->second.self) {
          if (auto provider = cl_.tree())
            provider(r.depth, r.done);
          else
            r.done(503, R"({"error":"no tree"})");
          return;
        }
        auto done = r.done;
        request(it->second.membership, std::chrono::seconds{5}, wire::tree_atom::value, r.depth)
          .then([done](int32_t status, std::string& body) { done(status, std::move(body)); },
                [done](caf::error& err) {
                  done(502, R"({"error":"the member did not answer: )" + to_string(err) + "\"}");
                });
      },
    };
  }

private:
  const caf::io::middleman_actor& mm() {
    return system().openssl_manager().actor_handle();
  }

  /// `who` is an incarnation this node saw go down.
  bool is_fenced(const wire::member_card& who) const {
    auto f = fenced_.find(who.name);
    return f != fenced_.end() && f->second == who.incarnation;
  }

  /// Whether this node's view prevails over that of `who`, which it saw go
  /// down: it sees a quorum and `who` does not, or both do (a cluster of
  /// two, split) and this node is the older. A node cut off from the
  /// others never fences them.
  bool outranks(const wire::member_card& who) const {
    if (!cl_.members()->quorum())
      return false;
    return !who.quorum || who.incarnation > cl_.incarnation();
  }

  wire::member_card card_of(const cluster_member& m) const {
    wire::member_card c;
    c.name = m.name;
    c.address = m.address;
    c.incarnation = m.incarnation;
    c.state = static_cast<uint8_t>(m.state);
    c.sessions = m.sessions;
    c.andon_pulled = m.andon_pulled;
    c.quorum = !m.self || cl_.members()->quorum();
    c.membership = m.membership;
    c.router = m.router;
    c.replicator = m.replicator;
    return c;
  }

  /// A member introduced itself (a join, or the answer to ours).
  void add(const wire::member_card& who) {
    // an incarnation seen down or leaving never comes back (it restarts as
    // a new one)
    if (auto f = fenced_.find(who.name);
        !who.membership || (f != fenced_.end() && f->second == who.incarnation))
      return;
    auto it = members_.find(who.name);
    if (it != members_.end()) {
      if (it->second.live() && it->second.incarnation == who.incarnation
          && it->second.membership == who.membership)
        return;
      if (it->second.live()) // it restarted before its old self was seen down
        gone(it->second, "it came back as a new incarnation", false);
      else
        disconnected(it->second);
    }
    auto& e = members_[who.name];
    e.name = who.name;
    e.address = who.address;
    e.name_hash = stable_hash(who.name);
    e.incarnation = who.incarnation;
    e.state = who.state == static_cast<uint8_t>(cluster_member::state_t::draining)
                ? cluster_member::state_t::draining
                : cluster_member::state_t::up;
    e.self = false;
    e.sessions = who.sessions;
    e.andon_pulled = who.andon_pulled;
    e.membership = who.membership;
    e.router = who.router;
    e.replicator = who.replicator;
    e.since = std::chrono::system_clock::now();
    left_.erase(who.name);
    monitor(who.membership);
    failing_.erase(who.address);
    cl_.counters().member_ups.fetch_add(1, std::memory_order_relaxed);
    log::info("cluster member up", {{"node", name_}, {"member", who.name},
                                    {"address", who.address}});
    publish();
  }

  /// What a member says of itself every second.
  void update(const wire::member_card& who) {
    auto it = members_.find(who.name);
    if (it == members_.end() || !it->second.live()
        || it->second.incarnation != who.incarnation)
      return;
    auto& e = it->second;
    auto state = who.state == static_cast<uint8_t>(cluster_member::state_t::draining)
                   ? cluster_member::state_t::draining
                   : cluster_member::state_t::up;
    bool changed = state != e.state || e.router != who.router || e.replicator != who.replicator;
    if (state != e.state) {
      e.since = std::chrono::system_clock::now();
      if (state == cluster_member::state_t::draining)
        log::info("cluster member draining", {{"node", name_}, {"member", who.name}});
    }
    e.state = state;
    e.sessions = who.sessions;
    e.andon_pulled = who.andon_pulled;
    e.router = who.router;
    e.replicator = who.replicator;
    if (changed)
      publish();
    else
      publish_quietly();
  }

  void on_down(const caf::down_msg& dm) {
    for (auto& [who, e] : members_)
      if (!e.self && e.membership && e.membership.address() == dm.source) {
        if (e.live())
          gone(e, supervision::describe(dm.reason), false);
        else
          disconnected(e); // it left, and now its connection closed
        return;
      }
  }

  /// Member `e` is down, or left: from now on no session is owned by it
  /// or placed on it; its sessions are taken over from their replicas and
  /// what it was the buddy of is replicated to the new buddies. A member
  /// that died has its exchanges sent to the sessions' new owners at once;
  /// one that left still answers those it has, until its connection
  /// closes.
  void gone(cluster_member& e, const std::string& why, bool left) {
    e.state = cluster_member::state_t::down;
    e.since = std::chrono::system_clock::now();
    fenced_[e.name] = e.incarnation;
    if (left)
      left_.insert(e.name);
    cl_.counters().member_downs.fetch_add(1, std::memory_order_relaxed);
    (left ? log::info : log::warn)(left ? "cluster member left" : "cluster member down",
                                   {{"node", name_}, {"member", e.name}, {"reason", why}});
    publish();
    if (!left)
      disconnected(e);
  }

  /// The connection to `e` is gone: what was forwarded to it and is still
  /// unanswered goes to the sessions' new owners.
  void disconnected(cluster_member& e) {
    if (!e.membership)
      return;
    demonitor(e.membership);
    if (auto node = e.membership.node())
      cl_.origin_down(node);
    e.membership = caf::actor{};
    e.router = caf::actor{};
    e.replicator = caf::actor{};
    publish_quietly();
    if (auto r = cl_.router())
      anon_send(r, wire::member_down_atom::value, e.name);
  }

  /// Connects to the seeds and members that are not up: the first time,
  /// and again after they went down (a node that restarted, or came back
  /// after its network was cut, is up again within a second).
  void seek() {
    if (cl_.draining())
      return;
    // seeds that are members up, or that left on purpose, are not asked
    auto up = [this](const std::string& address) {
      for (auto& [who, e] : members_)
        if ((e.live() || left_.count(who) != 0) && e.address == address)
          return true;
      return false;
    };
    const auto& cfg = cl_.config();
    for (auto& seed : cfg.join)
      if (seed != cfg.listen && !up(seed))
        connect(seed);
    for (auto& [who, e] : members_)
      if (!e.self && !e.live() && !up(e.address) && left_.count(who) == 0)
        connect(e.address);
  }

  /// Connects to the node at `address` and joins it; what it answers names
  /// the members this node connects to next.
  void connect(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(address, host, port) || !connecting_.insert(address).second)
      return;
    auto wait = cl_.config().timeout * 2;
    request(mm(), wait, caf::connect_atom::value, host, port)
      .then(
        [this, address, wait](caf::node_id&, caf::strong_actor_ptr& ptr,
                              std::set<std::string>&) {
          auto peer = caf::actor_cast<caf::actor>(ptr);
          if (!peer) {
            connecting_.erase(address);
            refused(address, "nothing is published there");
            return;
          }
          request(peer, wait, wire::join_atom::value, card_of(members_[name_]))
            .then(
              [this, address](std::vector<wire::member_card>& cards) {
                connecting_.erase(address);
                if (cards.empty())
                  return;
                if (is_fenced(cards[0])) {
                  if (outranks(cards[0])) {
                    // it was cut off and is back: its sessions live
                    // elsewhere now
                    send(cards[0].membership, wire::fence_atom::value,
                         "fenced: " + name_ + " saw this incarnation of " + cards[0].name
                           + " go down; it must restart");
                    return;
                  }
                  fenced_.erase(cards[0].name); // this node was the one cut off
                }
                add(cards[0]);
                for (size_t i = 1; i < cards.size(); ++i) {
                  auto it = members_.find(cards[i].name);
                  if (cards[i].name != name_
                      && (it == members_.end() || !it->second.live()
                          || it->second.incarnation != cards[i].incarnation))
                    connect(cards[i].address);
                }
              },
              [this, address](caf::error& err) {
                connecting_.erase(address);
                auto text = to_string(err);
                if (text.find("fenced:") != std::string::npos)
                  fence(text);
                else
                  refused(address, text);
              });
        },
        [this, address](caf::error& err) {
          connecting_.erase(address);
          refused(address, to_string(err));
        });
  }

  /// The cluster saw this incarnation of the node go down (it was cut off
  /// or stopped for longer than the connection timeout) and has taken its
  /// sessions over: it stops, so that what it still holds is never served
  /// next to the copies, and comes back as a new incarnation.
  void fence(const std::string& why) {
    log::error("this node was declared down by the cluster; it stops and must be "
               "restarted",
               {{"node", name_}, {"reason", why}});
    rt_.set_stopping();
    anon_send_exit(rt_.root(), caf::exit_reason::unknown);
  }

  /// Logs a node that cannot be joined, once until it can be.
  void refused(const std::string& address, const std::string& why) {
    if (failing_.insert(address).second)
      log::warn("cluster node not reachable",
                {{"node", name_}, {"address", address}, {"reason", why}});
  }

  /// This node's own entry, as it is now.
  void refresh_self() {
    auto& me = members_[name_];
    me.sessions = static_cast<uint64_t>(rt_.registry().size());
    me.andon_pulled = rt_.andon().pulled();
    me.router = cl_.router();
    me.replicator = cl_.replicator();
    me.membership = caf::actor_cast<caf::actor>(this);
    auto state = cl_.draining() ? cluster_member::state_t::draining
                                : cluster_member::state_t::up;
    if (state != me.state)
      me.since = std::chrono::system_clock::now();
    me.state = state;
  }

  void tick() {
    refresh_self();
    auto card = card_of(members_[name_]);
    for (auto& [who, e] : members_)
      if (!e.self && e.live())
        send(e.membership, wire::stats_atom::value, card);
    // members down for long, or that left, are forgotten
    auto now = std::chrono::system_clock::now();
    for (auto it = members_.begin(); it != members_.end();) {
      auto& e = it->second;
      bool forget = !e.self && !e.live()
                    && (now - e.since > forget_after
                        || (left_.count(it->first) != 0
                            && now - e.since > std::chrono::minutes{1}));
      if (forget) {
        left_.erase(it->first);
        it = members_.erase(it);
      } else {
        ++it;
      }
    }
    seek();
    publish_quietly();
  }

  /// A new view for the gateway, and for the replicator, which takes
  /// sessions over and moves replicas when the members changed.
  void publish() {
    publish_quietly();
    if (auto r = cl_.replicator())
      anon_send(r, caf::update_atom::value);
  }

  void publish_quietly() {
    refresh_self();
    std::vector<cluster_member> all;
    all.reserve(members_.size());
    for (auto& [who, e] : members_)
      if (left_.count(who) == 0 || e.self)
        all.push_back(e);
    cl_.set_members(std::make_shared<const cluster_members>(std::move(all)));
  }

  // -- draining -------------------------------------------------------------------

  void start_drain() {
    if (cl_.draining())
      return;
    cl_.set_draining();
    drain_started_ = std::chrono::steady_clock::now();
    last_activity_ = drain_started_;
    last_requests_ = rt_.stats().requests_total();
    log::info("draining: new sessions go to other nodes, sessions move to their buddies",
              {{"node", name_}, {"sessions", std::to_string(rt_.registry().size())}});
    tick(); // peers learn it now
    migrate_all();
    delayed_send(this, std::chrono::milliseconds{100}, drain_tick_atom::value);
  }

  /// Asks every session actor to move to its successor once it has no call
  /// in flight.
  void migrate_all() {
    auto& reg = rt_.registry();
    for (uint32_t m = 0; m < reg.metas(); ++m)
      for (uint32_t s = 0; s < reg.shards_per_meta(); ++s)
        for (auto& [id, h] : reg.all({m, s}))
          caf::anon_send(h, event_atom::value, event::of(event::kind::migrate));
    // passive sessions get an actor, which the next round asks to move
    for (uint32_t m = 0; m < reg.metas(); ++m)
      for (uint32_t s = 0; s < reg.shards_per_meta(); ++s)
        for (auto& id : reg.passive_in({m, s}))
          if (reg.wake(id))
            rt_.start_session(id);
  }

  /// Draining, in two steps: sessions move to their successors (each
  /// once no call of it is in flight), then the node leaves the cluster
  /// (peers route around it from now on) and stops once no request of its
  /// own clients came for drain_quiet and nothing it forwarded or relays
  /// waits for an answer. drain_limit bounds both.
  void drain_tick() {
    auto now = std::chrono::steady_clock::now();
    auto requests = rt_.stats().requests_total();
    if (requests != last_requests_) {
      last_requests_ = requests;
      last_activity_ = now;
    }
    const auto& cfg = cl_.config();
    bool late = now - drain_started_ >= cfg.drain_limit;
    if (!left_cluster_) {
      // sessions wait to move only while a member is up to take them
      auto view = cl_.members();
      bool can_move = std::any_of(view->all().begin(), view->all().end(), [](auto& m) {
        return !m.self && m.state == cluster_member::state_t::up && m.router;
      });
      auto sessions = can_move ? rt_.registry().size() : 0;
      if (sessions == 0 || late) {
        if (sessions > 0)
          log::warn("draining took too long; leaving with sessions that did not move "
                    "(their buddies take them over)",
                    {{"node", name_}, {"sessions", std::to_string(sessions)}});
        leave();
      } else if (++drain_ticks_ % 10 == 0) {
        migrate_all(); // sessions whose actor was restarting when asked
      }
      delayed_send(this, std::chrono::milliseconds{50}, drain_tick_atom::value);
      return;
    }
    auto forwarding = cl_.forwarding();
    auto in_flight = rt_.stats().requests_in_flight.load(std::memory_order_relaxed);
    bool done = forwarding == 0 && in_flight <= 0 && now - last_activity_ >= cfg.drain_quiet;
    if (!done && late && now - left_at_ >= std::chrono::seconds{5}) {
      log::warn("draining took too long; stopping with requests in flight",
                {{"node", name_}, {"forwarded_in_flight", std::to_string(forwarding)},
                 {"requests_in_flight", std::to_string(in_flight)}});
      done = true;
    }
    if (done)
      stop_node();
    else
      delayed_send(this, std::chrono::milliseconds{50}, drain_tick_atom::value);
  }

  /// Tells the peers that this node leaves (they route around it from now
  /// on), and closes the streams it still forwards (their clients resume
  /// through another node).
  void leave() {
    auto view = cl_.members();
    for (auto& f : cl_.take_streams()) {
      if (auto* m = view->find(f.target); m != nullptr && m->router)
        send(m->router, wire::gone_atom::value, f.key);
      f.ch->close();
    }
    for (auto& [who, e] : members_)
      if (!e.self && e.live())
        send(e.membership, wire::leave_atom::value, name_, cl_.incarnation());
    log::info("sessions moved: leaving the cluster", {{"node", name_}});
    left_cluster_ = true;
    left_at_ = std::chrono::steady_clock::now();
  }

  void stop_node() {
    log::info("drained: the node stops", {{"node", name_}});
    rt_.set_stopping();
    anon_send_exit(rt_.root(), caf::exit_reason::user_shutdown);
  }

  runtime& rt_;
  cluster& cl_;
  std::string name_;
  std::map<std::string, cluster_member> members_;
  /// Incarnations seen down: they may not join again.
  std::map<std::string, uint64_t> fenced_;
  /// Members that left on purpose.
  std::set<std::string> left_;
  /// Addresses being connected to, and those whose failure was logged.
  std::set<std::string> connecting_;
  std::set<std::string> failing_;
  // trees asked for by peers, waiting for the provider
  std::map<uint64_t, caf::typed_response_promise<int32_t, std::string>> trees_;
  uint64_t next_tree_ = 1;
  // draining
  std::chrono::steady_clock::time_point drain_started_;
  std::chrono::steady_clock::time_point last_activity_;
  uint64_t last_requests_ = 0;
  uint64_t drain_ticks_ = 0;
  bool left_cluster_ = false;
  std::chrono::steady_clock::time_point left_at_;
};

} // namespace

caf::actor spawn_router(runtime& rt, cluster& c);
caf::actor spawn_replicator(runtime& rt, cluster& c);

std::vector<supervision::child_spec> cluster_children(runtime& rt, cluster& c) {
  std::vector<supervision::child_spec> out;
  supervision::child_spec router;
  router.id = "cluster-router";
  router.start = [&rt, &c](const supervision::start_context&) -> caf::expected<caf::actor> {
    return spawn_router(rt, c);
  };
  out.push_back(std::move(router));
  supervision::child_spec replicator;
  replicator.id = "cluster-replicator";
  replicator.start = [&rt, &c](const supervision::start_context&)
    -> caf::expected<caf::actor> { return spawn_replicator(rt, c); };
  out.push_back(std::move(replicator));
  supervision::child_spec membership;
  membership.id = "cluster";
  membership.start = [&rt, &c](const supervision::start_context& ctx)
    -> caf::expected<caf::actor> { return ctx.system.spawn<membership_actor>(rt, c); };
  out.push_back(std::move(membership));
  return out;
}

} // namespace mcpvisor::actors
