#include "actors/gateway.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "actors/session.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

protocol::mcp_headers inbound::headers() const {
  protocol::mcp_headers h;
  h.protocol_version = protocol_version;
  h.has_method = has_method;
  h.method = method;
  h.has_name = has_name;
  h.name = name;
  for (auto& [k, v] : params)
    h.params.emplace_back(k, v);
  return h;
}

gateway::gateway(runtime& rt) : rt_(rt) {
  // nop
}

gateway::result gateway::initialize(std::unique_ptr<protocol::message> msg,
                                    channel_ptr ch, bool single_channel,
                                    std::string* id_out, flight* f) {
  if (rt_.registry().size() >= rt_.config().max_sessions)
    return result::full;
  auto id = session_id::random();
  auto& slot = rt_.registry().slot_of(id);
  auto sup = slot.supervisor();
  if (!sup)
    return result::unavailable;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(ch);
  in->single_channel = single_channel;
  in->rescue = &rt_;
  in->sid = id;
  // The initialize waits in the session's slot for the actor the shard
  // starts (if the shard cannot, the janitor answers it after a while).
  if (!slot.reserve(id, std::move(in)))
    return result::unavailable; // 128 random bits collided
  auto text = id.to_string();
  if (id_out != nullptr)
    *id_out = text;
  caf::anon_send(sup, supervision::start_child_atom::value, std::move(text),
                 caf::message{});
  if (f != nullptr)
    *f = flight{rt_.stats(), nullptr, rt_.config().andon.session_share};
  return result::ok;
}

namespace {

/// Sends a session message to the session's actor, or queues it while the
/// session restarts.
gateway::result deliver(runtime& rt, const session_id& id, inbound_ptr in,
                        flight* f = nullptr) {
  in->rescue = &rt;
  in->sid = id;
  auto r = rt.registry().slot_of(id).route(id, in);
  if (!r.known) {
    in->rescue = nullptr; // the transport answers 404 itself
    return gateway::result::unknown_session;
  }
  if (f != nullptr)
    *f = flight{rt.stats(), std::move(r.load), rt.config().andon.session_share};
  if (r.handle)
    caf::anon_send(r.handle, event_atom::value, event::of(std::move(in)));
  return gateway::result::ok;
}

} // namespace

inbound::~inbound() {
  if (rescue == nullptr || taken)
    return;
  // The session's actor stopped before it took this message. Unless the
  // node is stopping, hand it to the actor that continues the session (a
  // crash, a kill or a shard restart in between), a bounded number of
  // times; a session that ended answers 404.
  auto& rt = *rescue;
  rescue = nullptr;
  if (rt.stopping() || attempts >= 8) {
    if (ch != nullptr && kind != kind_t::close)
      ch->reply(503, protocol::encode_error(
                       msg != nullptr ? msg->id : protocol::request_id{},
                       protocol::errc::internal_error,
                       rt.stopping() ? "the server is shutting down"
                                     : "the session could not be reached; "
                                       "retry"));
    return;
  }
  auto again = std::make_shared<inbound>();
  again->kind = kind;
  again->msg = std::move(msg);
  again->ch = std::move(ch);
  again->last_event_id = std::move(last_event_id);
  again->single_channel = single_channel;
  again->attempts = static_cast<uint8_t>(attempts + 1);
  auto ch_copy = again->ch;
  auto id = again->msg != nullptr ? again->msg->id : protocol::request_id{};
  bool initialize = again->msg != nullptr && again->msg->method == "initialize";
  if (deliver(rt, sid, std::move(again)) == gateway::result::unknown_session
      && ch_copy != nullptr && kind != kind_t::close)
    ch_copy->reply(initialize ? 503 : 404,
                   protocol::encode_error(id, initialize
                                                ? protocol::errc::internal_error
                                                : protocol::errc::invalid_request,
                                          initialize
                                            ? "the server could not start a "
                                              "session; retry"
                                            : "session not found"));
}

gateway::result gateway::post(std::string_view session_id_text,
                              std::unique_ptr<protocol::message> msg,
                              channel_ptr ch, flight* f) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(ch);
  return deliver(rt_, *id, std::move(in), f);
}

gateway::result gateway::get(std::string_view session_id_text,
                             std::string last_event_id, channel_ptr ch) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto in = std::make_shared<inbound>();
  in->kind = inbound::kind_t::stream;
  in->ch = std::move(ch);
  in->last_event_id = std::move(last_event_id);
  return deliver(rt_, *id, std::move(in));
}

gateway::result gateway::remove(std::string_view session_id_text) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto in = std::make_shared<inbound>();
  in->kind = inbound::kind_t::close;
  return deliver(rt_, *id, std::move(in));
}

gateway::result gateway::stateless(std::unique_ptr<protocol::message> msg,
                                   const protocol::mcp_headers* headers,
                                   channel_ptr ch, bool single_channel,
                                   flight* f) {
  auto n = rt_.config().stateless_actors;
  auto start = next_stateless_.fetch_add(1, std::memory_order_relaxed);
  caf::actor target;
  for (size_t i = 0; i < n && !target; ++i)
    target = rt_.stateless_actor(start + i);
  if (!target)
    return result::unavailable;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(ch);
  in->single_channel = single_channel;
  if (headers != nullptr) {
    in->has_headers = true;
    in->protocol_version = std::string{headers->protocol_version};
    in->has_method = headers->has_method;
    in->method = std::string{headers->method};
    in->has_name = headers->has_name;
    in->name = std::string{headers->name};
    for (auto& [k, v] : headers->params)
      in->params.emplace_back(std::string{k}, std::string{v});
  }
  caf::anon_send(target, event_atom::value, event::of(std::move(in)));
  if (f != nullptr)
    *f = flight{rt_.stats(), nullptr, rt_.config().andon.session_share};
  return result::ok;
}

bool gateway::known(std::string_view session_id_text) const {
  auto id = session_id::parse(session_id_text);
  return id && rt_.registry().slot_of(*id).known(*id);
}

size_t gateway::sessions() const {
  return rt_.registry().size();
}

bool gateway::overloaded() const noexcept {
  return rt_.andon().pulled();
}

metrics& gateway::stats() noexcept {
  return rt_.stats();
}

} // namespace mcpvisor::actors
