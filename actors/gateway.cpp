#include "actors/gateway.hpp"

#include <caf/send.hpp>

#include "actors/cluster.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "actors/session.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace {

/// Nodes a message may pass: its owner, or the node a drain moved the
/// session to, and one more while the members settle; a message that keeps
/// moving is refused (503) rather than sent in circles.
constexpr uint8_t max_hops = 3;

} // namespace

gateway::gateway(runtime& rt) : rt_(rt) {
  // nop
}

gateway::result gateway::submit(const protocol::route& r,
                                std::unique_ptr<protocol::message> msg,
                                delivery d) {
  using protocol::route_kind;
  switch (r.kind) {
    case route_kind::initialize:
      return initialize(std::move(msg), d);
    case route_kind::session:
    case route_kind::stream:
    case route_kind::end_session:
      return to_session(r, std::move(msg), d);
    case route_kind::stateless:
      return stateless(r, std::move(msg), d);
    case route_kind::answer:
      break;
  }
  return result::unavailable;
}

protocol::route gateway::refusal(result res, const protocol::request_id& id) {
  switch (res) {
    case result::unknown_session:
      return protocol::unknown_session(id);
    case result::full:
      return protocol::unavailable(id, "too many sessions; retry later");
    default:
      return protocol::unavailable(id, "the server cannot take this request "
                                       "now; retry");
  }
}

gateway::result gateway::initialize(std::unique_ptr<protocol::message> msg,
                                    delivery& d) {
  auto* cl = rt_.clustered();
  if (cl != nullptr && !d.single_channel
      && (cl->draining() || rt_.andon().pulled())) {
    // this node takes no new session now: the least loaded peer does
    auto view = cl->members();
    if (auto* peer = cl->placement(*view)) {
      inbound in;
      in.msg = std::move(msg);
      in.ch = d.ch;
      in.orphan = d.orphan;
      return forward(*peer, {}, in, true, d);
    }
    if (rt_.andon().pulled())
      return result::unavailable;
  }
  auto id = session_id::random(cl != nullptr ? cl->tag() : 0);
  auto sup = rt_.shards().get(rt_.registry().address_of(id));
  if (!sup)
    return result::unavailable;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(d.ch);
  in->single_channel = d.single_channel;
  // The initialize waits in the registry for the actor the shard starts
  // (if the shard cannot, the janitor answers it after a while).
  switch (rt_.registry().register_name(id, std::move(in), rt_.config().max_sessions)) {
    case session_registry::registered::ok:
      break;
    case session_registry::registered::full:
      return result::full;
    case session_registry::registered::taken:
      return result::unavailable; // 128 random bits collided
  }
  auto text = id.to_string();
  if (d.session_out != nullptr)
    *d.session_out = text;
  caf::anon_send(sup, supervision::start_child_atom::value, std::move(text),
                 caf::message{});
  if (d.in_flight != nullptr)
    *d.in_flight = flight{rt_.stats(), nullptr, rt_.config().andon.session_share};
  return result::ok;
}

gateway::result gateway::to_session(const protocol::route& r,
                                    std::unique_ptr<protocol::message> msg,
                                    delivery& d) {
  auto id = session_id::parse(r.session_id);
  if (!id)
    return result::unknown_session;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(d.ch);
  in->orphan = d.orphan;
  if (r.kind == protocol::route_kind::stream) {
    in->kind = inbound::kind_t::stream;
    in->last_event_id = std::string{r.last_event_id};
  } else if (r.kind == protocol::route_kind::end_session) {
    in->kind = inbound::kind_t::close;
  }
  auto* cl = rt_.clustered();
  auto sent = rt_.registry().send(*id, cl != nullptr ? in : std::move(in));
  if (!sent.known && cl != nullptr) {
    // not held here: another node owns it, or this node takes it over now
    auto where = cl->locate(*id);
    switch (where.kind) {
      case cluster::located::kind_t::local:
        sent = rt_.registry().send(*id, std::move(in));
        break;
      case cluster::located::kind_t::forward:
        return forward(*where.to, r.session_id, *in, r.request, d);
      case cluster::located::kind_t::unknown:
        return result::unknown_session;
      case cluster::located::kind_t::unavailable:
        return result::unavailable;
    }
  }
  if (!sent.known)
    return result::unknown_session;
  if (sent.wake)
    rt_.start_session(*id);
  if (d.in_flight != nullptr && r.request)
    *d.in_flight = flight{rt_.stats(), std::move(sent.load),
                          rt_.config().andon.session_share};
  return result::ok;
}

gateway::result gateway::stateless(const protocol::route& r,
                                   std::unique_ptr<protocol::message> msg,
                                   delivery& d) {
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(d.ch);
  in->single_channel = d.single_channel;
  if (r.has_headers) {
    auto& h = r.headers;
    in->has_headers = true;
    in->protocol_version = std::string{h.protocol_version};
    in->has_method = h.has_method;
    in->method = std::string{h.method};
    in->has_name = h.has_name;
    in->name = std::string{h.name};
    for (auto& [k, v] : h.params)
      in->params.emplace_back(std::string{k}, std::string{v});
  }
  // tasks/get, tasks/update, tasks/cancel go to the node that holds the
  // task, named by its id
  if (auto holder = task_holder(r, *in->msg))
    return forward(*holder, {}, *in, r.request, d, true);
  if (!rt_.send_stateless(next_stateless_.fetch_add(1, std::memory_order_relaxed), in)) {
    d.ch = std::move(in->ch); // not taken: the transport answers
    return result::unavailable;
  }
  if (d.in_flight != nullptr && r.request)
    *d.in_flight = flight{rt_.stats(), nullptr, rt_.config().andon.session_share};
  return result::ok;
}

std::optional<cluster_member> gateway::task_holder(const protocol::route& r,
                                                   const protocol::message& msg) {
  auto* cl = rt_.clustered();
  if (cl == nullptr || msg.kind != protocol::message_kind::request
      || (msg.method != "tasks/get" && msg.method != "tasks/update"
          && msg.method != "tasks/cancel"))
    return std::nullopt;
  // headers are checked here (they do not travel): a mismatch is answered
  // by this node
  if (r.has_headers && rt_.server() != nullptr
      && protocol::check_headers(*rt_.server(), msg, r.headers))
    return std::nullopt;
  auto id = protocol::as_string(msg.param("taskId"));
  auto tag = id ? protocol::task_node_tag(*id) : std::nullopt;
  if (!tag || *tag == cl->tag())
    return std::nullopt;
  auto view = cl->members();
  for (auto& m : view->all())
    if (!m.self && m.live() && node_tag(m.name) == *tag)
      return m;
  return std::nullopt;
}

gateway::result gateway::forward(const cluster_member& to, std::string_view session,
                                 const inbound& in, bool request, delivery& d,
                                 bool stateless) {
  if (d.hops >= max_hops || !rt_.clustered()->forward(to, session, in, d.hops, stateless))
    return result::unavailable;
  if (d.in_flight != nullptr && request)
    *d.in_flight = flight{rt_.stats(), nullptr, rt_.config().andon.session_share};
  return result::ok;
}

bool gateway::local(const protocol::route& r) {
  auto* cl = rt_.clustered();
  if (cl == nullptr || r.session_id.empty())
    return true;
  auto id = session_id::parse(r.session_id);
  if (!id || rt_.registry().known(*id))
    return true;
  return cl->locate(*id).kind != cluster::located::kind_t::forward;
}

bool gateway::known(std::string_view session_id_text) const {
  auto id = session_id::parse(session_id_text);
  return id && rt_.registry().known(*id);
}

size_t gateway::sessions() const {
  return rt_.registry().size();
}

bool gateway::overloaded() const noexcept {
  return rt_.andon().pulled();
}

bool gateway::sessions_elsewhere() const {
  auto* cl = rt_.clustered();
  if (cl == nullptr)
    return false;
  auto view = cl->members();
  return cl->placement(*view) != nullptr;
}

metrics& gateway::stats() noexcept {
  return rt_.stats();
}

} // namespace mcpvisor::actors
