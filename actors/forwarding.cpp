// Forwarding between the nodes of a cluster: a message for a session that
// another node owns goes to that node's router as it came (its JSON text
// and what the HTTP request said of it), and everything the owner's session
// does with its channel (a body, an SSE stream, events, the end) comes back
// as messages to the router of the node that holds the client's
// connection. When a node dies, the exchanges forwarded to it go to the
// sessions' new owners, marked as orphans: a request runs again there only
// if it is read-only or idempotent, as after a crash.

#include <algorithm>
#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster.hpp"
#include "actors/cluster_wire.hpp"
#include "actors/gateway.hpp"
#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "supervision/errors.hpp"

namespace mcpvisor::actors {

namespace {

/// Exchanges that may wait for one member at a time: beyond, new ones are
/// refused (503) instead of queueing without bound in the middleman.
constexpr size_t max_per_member = 50000;

using sweep_atom = caf::atom_constant<caf::atom("clsweep")>;
constexpr auto sweep_every = std::chrono::milliseconds{500};

} // namespace

// -- the origin's side: exchanges forwarded from here -----------------------------

bool cluster::forward(const cluster_member& to, std::string_view session, const inbound& in,
                      uint8_t hops, bool stateless) {
  auto reply_to = router();
  if (!to.router || !reply_to)
    return false;
  auto kind = static_cast<uint8_t>(stateless       ? wire::fwd_kind::stateless
                                   : session.empty() ? wire::fwd_kind::initialize
                                   : in.kind == inbound::kind_t::stream ? wire::fwd_kind::stream
                                   : in.kind == inbound::kind_t::close  ? wire::fwd_kind::close
                                                                        : wire::fwd_kind::message);
  forwarded f;
  f.ch = in.ch;
  f.target = to.name;
  f.kind = kind;
  f.hops = hops;
  f.session = std::string{session};
  if (in.msg != nullptr && in.msg->doc().IsObject())
    f.body = protocol::to_json(in.msg->doc());
  if (in.msg != nullptr)
    f.who = in.msg->who;
  f.last_event_id = in.last_event_id;
  f.sent = std::chrono::steady_clock::now();
  wire::fwd_request req;
  req.hops = static_cast<uint8_t>(hops + 1);
  req.kind = kind;
  req.orphan = in.orphan;
  req.session = f.session;
  req.body = f.body;
  req.last_event_id = f.last_event_id;
  if (f.who != nullptr) {
    req.subject = f.who->subject;
    req.scopes = f.who->scope_text();
    req.client = f.who->client;
  }
  req.reply_to = std::move(reply_to);
  {
    std::lock_guard<std::mutex> guard{fwd_mtx_};
    auto& n = per_target_[to.name];
    if (n >= max_per_member) {
      counters_.forward_refused.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++n;
    f.key = req.key = next_key_.fetch_add(1, std::memory_order_relaxed);
    forwarded_.emplace(f.key, std::move(f));
  }
  counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
  caf::anon_send(to.router, std::move(req));
  return true;
}

channel_ptr cluster::answer(uint64_t key, bool final) {
  std::lock_guard<std::mutex> guard{fwd_mtx_};
  auto i = forwarded_.find(key);
  if (i == forwarded_.end())
    return nullptr;
  auto ch = i->second.ch;
  if (final) {
    --per_target_[i->second.target];
    forwarded_.erase(i);
  }
  return ch;
}

std::vector<cluster::forwarded> cluster::take_forwarded_to(const std::string& member) {
  std::vector<forwarded> out;
  std::lock_guard<std::mutex> guard{fwd_mtx_};
  for (auto i = forwarded_.begin(); i != forwarded_.end();) {
    if (i->second.target == member) {
      out.push_back(std::move(i->second));
      i = forwarded_.erase(i);
    } else {
      ++i;
    }
  }
  per_target_.erase(member);
  return out;
}

std::vector<cluster::forwarded> cluster::take_abandoned() {
  std::vector<forwarded> out;
  std::lock_guard<std::mutex> guard{fwd_mtx_};
  for (auto i = forwarded_.begin(); i != forwarded_.end();) {
    if (i->second.ch == nullptr || !i->second.ch->alive()) {
      --per_target_[i->second.target];
      out.push_back(std::move(i->second));
      i = forwarded_.erase(i);
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<cluster::forwarded> cluster::take_streams() {
  std::vector<forwarded> out;
  std::lock_guard<std::mutex> guard{fwd_mtx_};
  for (auto i = forwarded_.begin(); i != forwarded_.end();) {
    if (i->second.kind == static_cast<uint8_t>(wire::fwd_kind::stream)) {
      --per_target_[i->second.target];
      out.push_back(std::move(i->second));
      i = forwarded_.erase(i);
    } else {
      ++i;
    }
  }
  return out;
}

size_t cluster::forwarding() const {
  std::lock_guard<std::mutex> guard{fwd_mtx_};
  size_t n = 0;
  for (auto& [key, f] : forwarded_)
    n += f.kind != static_cast<uint8_t>(wire::fwd_kind::stream) ? 1 : 0;
  return n;
}

std::vector<cluster::forwarded> cluster::oldest_forwarded(size_t n) const {
  std::vector<forwarded> out;
  {
    std::lock_guard<std::mutex> guard{fwd_mtx_};
    for (auto& [key, f] : forwarded_)
      if (f.kind != static_cast<uint8_t>(wire::fwd_kind::stream))
        out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.sent < y.sent; });
  if (out.size() > n)
    out.resize(n);
  return out;
}

namespace {

/// Answers an exchange, if it has a channel (a notification forwarded
/// without one has nobody to tell).
void answer_with(const channel_ptr& ch, reply r) {
  if (ch != nullptr)
    ch->send(std::move(r));
}

// -- the owner's side: a channel whose client is on another node -------------------

/// Sends what a session does with its channel to the router of the node
/// that holds the client's connection.
class remote_channel : public channel {
public:
  remote_channel(uint64_t key, caf::actor reply_to,
                 std::shared_ptr<std::atomic<bool>> origin_up)
    : key_(key), reply_to_(std::move(reply_to)), origin_up_(std::move(origin_up)) {
    // nop
  }

  void send(reply r) override {
    if (!finish())
      return;
    wire::fwd_reply m;
    m.key = key_;
    m.op = static_cast<uint8_t>(wire::fwd_op::send);
    m.kind = static_cast<uint8_t>(r.kind);
    m.status = r.status;
    m.text = std::move(r.json);
    m.id = std::move(r.session_id);
    caf::anon_send(reply_to_, std::move(m));
  }

  void open_stream(std::string_view prime_id, int retry_ms) override {
    if (done_.load(std::memory_order_acquire))
      return;
    wire::fwd_reply m;
    m.key = key_;
    m.op = static_cast<uint8_t>(wire::fwd_op::open);
    m.retry_ms = retry_ms;
    m.id = std::string{prime_id};
    caf::anon_send(reply_to_, std::move(m));
  }

  void event(std::string_view id, protocol::message_kind kind, std::string json) override {
    if (done_.load(std::memory_order_acquire))
      return;
    wire::fwd_reply m;
    m.key = key_;
    m.op = static_cast<uint8_t>(wire::fwd_op::event);
    m.kind = static_cast<uint8_t>(kind);
    m.text = std::move(json);
    m.id = std::string{id};
    caf::anon_send(reply_to_, std::move(m));
  }

  void close() override {
    if (!finish())
      return;
    wire::fwd_reply m;
    m.key = key_;
    m.op = static_cast<uint8_t>(wire::fwd_op::close);
    caf::anon_send(reply_to_, std::move(m));
  }

  bool alive() const override {
    return !done_.load(std::memory_order_acquire) && !gone_.load(std::memory_order_acquire)
           && origin_up_->load(std::memory_order_acquire);
  }

  /// The client went away (its node said so).
  void mark_gone() noexcept {
    gone_.store(true, std::memory_order_release);
  }

  /// Counts the request in flight here until it is answered.
  void hold(flight f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!done_.load(std::memory_order_acquire))
      flight_ = std::move(f);
  }

private:
  /// The exchange ends now; false if it had ended.
  bool finish() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (done_.exchange(true, std::memory_order_acq_rel))
      return false;
    flight_ = flight{};
    return true;
  }

  uint64_t key_;
  caf::actor reply_to_;
  std::shared_ptr<std::atomic<bool>> origin_up_;
  std::atomic<bool> done_{false};
  std::atomic<bool> gone_{false};
  std::mutex mtx_;
  flight flight_;
};

// -- the router -------------------------------------------------------------------

class router_actor : public caf::event_based_actor {
public:
  router_actor(caf::actor_config& cfg, runtime& rt, cluster& c)
    : caf::event_based_actor(cfg), rt_(rt), cl_(c), gw_(rt) {
    // nop
  }

  const char* name() const override {
    return "cluster-router";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    cl_.set_router(caf::actor_cast<caf::actor>(this));
    delayed_send(this, sweep_every, sweep_atom::value);
    return {
      // a client's message for a session here, from the node that holds
      // the client's connection
      [this](wire::fwd_request& req) {
        cl_.counters().forwarded_in.fetch_add(1, std::memory_order_relaxed);
        auto ch = std::make_shared<remote_channel>(req.key, req.reply_to,
                                                   cl_.origin_flag(req.reply_to.node()));
        if (req.kind == static_cast<uint8_t>(wire::fwd_kind::stream))
          streams_[{req.reply_to.node(), req.key}] = ch;
        protocol::principal_ptr who;
        if (!req.subject.empty()) {
          auto p = std::make_shared<protocol::principal>();
          p->subject = std::move(req.subject);
          p->scopes = protocol::split_scopes(req.scopes);
          p->client = std::move(req.client);
          who = std::move(p);
        }
        submit(req.kind, req.session, std::move(req.body), req.last_event_id, ch, ch.get(),
               req.hops, req.orphan, std::move(who));
      },
      // what a session on another node does with an exchange of this node
      [this](wire::fwd_reply& rep) {
        auto op = static_cast<wire::fwd_op>(rep.op);
        auto ch = cl_.answer(rep.key, op == wire::fwd_op::send || op == wire::fwd_op::close);
        if (ch == nullptr)
          return;
        auto kind = static_cast<protocol::message_kind>(rep.kind);
        switch (op) {
          case wire::fwd_op::send:
            ch->send(reply{kind, rep.status, std::move(rep.text), std::move(rep.id)});
            break;
          case wire::fwd_op::open:
            ch->open_stream(rep.id, rep.retry_ms);
            break;
          case wire::fwd_op::event:
            ch->event(rep.id, kind, std::move(rep.text));
            break;
          case wire::fwd_op::close:
            ch->close();
            break;
        }
      },
      // the client of a forwarded stream went away
      [this](wire::gone_atom, uint64_t key) {
        auto sender = current_sender();
        if (sender == nullptr)
          return;
        auto i = streams_.find({sender->node(), key});
        if (i == streams_.end())
          return;
        if (auto ch = i->second.lock())
          ch->mark_gone();
        streams_.erase(i);
      },
      // a draining node moves a session here
      [this](wire::move_atom, wire::session_ref& ref, std::string& checkpoint) {
        auto id = session_id::from_parts(ref.hi, ref.lo, ref.origin);
        if (!cl_.adopt(id, std::move(checkpoint)))
          log::warn("a session moved here could not be taken over",
                    {{"session", id.to_string()}});
      },
      // a member is down: what was forwarded to it goes to the new owners
      [this](wire::member_down_atom, std::string& member) {
        for (auto& f : cl_.take_forwarded_to(member)) {
          cl_.counters().rerouted.fetch_add(1, std::memory_order_relaxed);
          submit(f.kind, f.session, std::move(f.body), f.last_event_id, f.ch, nullptr,
                 f.hops, true, std::move(f.who));
        }
      },
      [this](sweep_atom) {
        sweep();
        delayed_send(this, sweep_every, sweep_atom::value);
      },
    };
  }

private:
  /// Hands a forwarded message to the gateway of this node, which serves
  /// it here or sends it on. `held`: the remote channel that counts it in
  /// flight here (null for an exchange of this node's own clients).
  void submit(uint8_t kind_byte, const std::string& session, std::string body,
              const std::string& last_event_id, const channel_ptr& ch,
              remote_channel* held, uint8_t hops, bool orphan,
              protocol::principal_ptr who) {
    auto kind = static_cast<wire::fwd_kind>(kind_byte);
    auto msg = std::make_unique<protocol::message>();
    msg->who = std::move(who);
    protocol::route r;
    if (!body.empty()) {
      if (auto err = protocol::decode(std::move(body), *msg, limits())) {
        answer_with(ch, reply{protocol::message_kind::error, 400,
                              protocol::decode_failure(*err).json, {}});
        return;
      }
      r.decoded = true;
    }
    r.request = r.decoded && msg->kind == protocol::message_kind::request;
    switch (kind) {
      case wire::fwd_kind::initialize:
        r.kind = protocol::route_kind::initialize;
        break;
      case wire::fwd_kind::message:
        r.kind = protocol::route_kind::session;
        break;
      case wire::fwd_kind::stream:
        r.kind = protocol::route_kind::stream;
        r.last_event_id = last_event_id;
        break;
      case wire::fwd_kind::close:
        r.kind = protocol::route_kind::end_session;
        break;
      case wire::fwd_kind::stateless:
        r.kind = protocol::route_kind::stateless;
        break;
    }
    r.session_id = session;
    auto id = r.request ? msg->id : protocol::request_id{};
    if (r.request && held != nullptr && rt_.andon().pulled()) {
      auto refusal = gateway::refusal(gateway::result::unavailable, id);
      answer_with(ch, reply{protocol::message_kind::error, 503, std::move(refusal.body), {}});
      return;
    }
    bool answered_here = !r.request && kind != wire::fwd_kind::stream;
    flight f;
    gateway::delivery d;
    d.ch = answered_here ? nullptr : ch;
    d.in_flight = r.request && held != nullptr ? &f : nullptr;
    d.hops = hops;
    d.orphan = orphan;
    auto res = gw_.submit(r, std::move(msg), d);
    if (res != gateway::result::ok) {
      auto refusal = gateway::refusal(res, id);
      answer_with(ch, reply{protocol::message_kind::error, refusal.status,
                            std::move(refusal.body), {}});
      return;
    }
    if (answered_here) {
      answer_with(ch, reply{protocol::message_kind::result,
                            kind == wire::fwd_kind::close ? 204 : 202, {}, {}});
      return;
    }
    if (held != nullptr)
      held->hold(std::move(f));
  }

  /// Exchanges of this node whose client went away are forgotten, and the
  /// owner of a stream among them told; streams here whose channel ended
  /// are forgotten.
  void sweep() {
    auto view = cl_.members();
    for (auto& f : cl_.take_abandoned())
      if (f.kind == static_cast<uint8_t>(wire::fwd_kind::stream))
        if (auto* m = view->find(f.target); m != nullptr && m->router)
          send(m->router, wire::gone_atom::value, f.key);
    for (auto i = streams_.begin(); i != streams_.end();) {
      auto ch = i->second.lock();
      if (ch == nullptr || !ch->alive())
        i = streams_.erase(i);
      else
        ++i;
    }
  }

  const protocol::decode_limits& limits() const {
    static const protocol::decode_limits defaults;
    return rt_.server() != nullptr ? rt_.server()->config().limits : defaults;
  }

  runtime& rt_;
  cluster& cl_;
  gateway gw_;
  /// Streams served here for clients on other nodes, by their node and key.
  std::map<std::pair<caf::node_id, uint64_t>, std::weak_ptr<remote_channel>> streams_;
};

} // namespace

caf::actor spawn_router(runtime& rt, cluster& c) {
  return rt.system().spawn<router_actor>(rt, c);
}

} // namespace mcpvisor::actors
