#include "actors/messages.hpp"

#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>

#include "actors/session_handover.hpp"

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

void inbound::refuse(int status, std::string_view why) {
  if (ch == nullptr || kind == kind_t::close)
    return;
  if (kind == kind_t::message
      && (msg == nullptr || msg->kind != protocol::message_kind::request))
    return;
  auto id = msg != nullptr ? msg->id : protocol::request_id{};
  ch->send(reply::error(id,
                        status == 404 ? protocol::errc::invalid_request
                                      : protocol::errc::internal_error,
                        why, status));
}

void answer_unreached(session_handover& h, std::string_view why, int status) {
  for (auto& in : h.queued)
    in->refuse(status, why);
  for (auto& c : h.calls)
    if (c.in != nullptr && c.in->ch != nullptr)
      c.in->ch->send(reply::error(c.id, protocol::errc::internal_error,
                                  restarted_text, 200,
                                  R"({"sessionRestarted":true})"));
  h.queued.clear();
  h.calls.clear();
}

namespace {

struct keep_client_messages {
  std::vector<inbound_ptr>& out;
  caf::detail::sync_request_bouncer bounce;

  template <class Key, class Queue>
  caf::intrusive::task_result operator()(const Key&, const Queue&,
                                         caf::mailbox_element& x) {
    auto& content = x.content();
    // also a request that waited for its idempotency key (stateless)
    if (content.match_elements<event_atom, event>()
        && (content.get_as<event>(1).what == event::kind::client
            || content.get_as<event>(1).what == event::kind::again)
        && content.get_as<event>(1).in != nullptr)
      out.push_back(content.get_as<event>(1).in);
    else
      bounce(x);
    return caf::intrusive::task_result::resume;
  }

  template <class Key, class Queue, class... Ts>
  caf::intrusive::task_result operator()(const Key&, const Queue&, Ts&... xs) {
    // nested queues add a key and a queue per level
    return (*this)(xs...);
  }
};

} // namespace

void drain_client_messages(caf::scheduled_actor& self,
                           std::vector<inbound_ptr>& out) {
  auto& box = self.mailbox();
  if (box.closed())
    return;
  box.close();
  self.get_normal_queue().flush_cache();
  self.get_urgent_queue().flush_cache();
  keep_client_messages f{out, caf::detail::sync_request_bouncer{
                                caf::exit_reason::unknown}};
  while (box.queue().new_round(1000, f).consumed_items)
    ; // nop
}

} // namespace mcpvisor::actors
