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
                                    std::string* id_out) {
  if (rt_.registry().size() >= rt_.config().max_sessions)
    return result::full;
  auto id = session_id::random();
  auto sup = rt_.registry().slot_of(id).supervisor();
  if (!sup)
    return result::unavailable;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(ch);
  in->single_channel = single_channel;
  auto first = std::make_shared<first_message>();
  first->in = std::move(in);
  auto text = id.to_string();
  if (id_out != nullptr)
    *id_out = text;
  // If the shard cannot start the session, the message is dropped with its
  // channel, and the channel answers that nobody could serve it.
  caf::anon_send(sup, supervision::start_child_atom::value, std::move(text),
                 caf::make_message(std::move(first)));
  return result::ok;
}

gateway::result gateway::post(std::string_view session_id_text,
                              std::unique_ptr<protocol::message> msg,
                              channel_ptr ch) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto h = rt_.registry().find(*id);
  if (!h)
    return result::unknown_session;
  auto in = std::make_shared<inbound>();
  in->msg = std::move(msg);
  in->ch = std::move(ch);
  caf::anon_send(h, post_atom::value, std::move(in));
  return result::ok;
}

gateway::result gateway::get(std::string_view session_id_text,
                             std::string last_event_id, channel_ptr ch) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto h = rt_.registry().find(*id);
  if (!h)
    return result::unknown_session;
  caf::anon_send(h, get_atom::value, std::move(ch), std::move(last_event_id));
  return result::ok;
}

gateway::result gateway::remove(std::string_view session_id_text) {
  auto id = session_id::parse(session_id_text);
  if (!id)
    return result::unknown_session;
  auto h = rt_.registry().find(*id);
  if (!h)
    return result::unknown_session;
  caf::anon_send(h, close_atom::value);
  return result::ok;
}

gateway::result gateway::stateless(std::unique_ptr<protocol::message> msg,
                                   const protocol::mcp_headers* headers,
                                   channel_ptr ch, bool single_channel) {
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
  caf::anon_send(target, post_atom::value, std::move(in));
  return result::ok;
}

bool gateway::known(std::string_view session_id_text) const {
  auto id = session_id::parse(session_id_text);
  return id && rt_.registry().find(*id);
}

size_t gateway::sessions() const {
  return rt_.registry().size();
}

} // namespace mcpvisor::actors
