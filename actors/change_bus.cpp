#include "actors/change_bus.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "protocol/engine.hpp"

namespace mcpvisor::actors {

void change_bus::watch(const caf::actor& session) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.emplace(session.id(), session);
}

void change_bus::forget(const caf::actor& session) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.erase(session.id());
}

void change_bus::listen(channel_ptr ch, protocol::request_id subscription,
                        listen_filter filter) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.push_back(listener{std::move(ch), std::move(subscription),
                                std::move(filter)});
}

void change_bus::publish(protocol::catalog_change what, std::string_view uri) {
  std::vector<caf::actor> sessions;
  std::vector<std::pair<channel_ptr, std::string>> events;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sessions.reserve(sessions_.size());
    for (auto& [id, h] : sessions_)
      sessions.push_back(h);
    listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                    [](const listener& l) {
                                      return !l.ch->alive();
                                    }),
                     listeners_.end());
    for (auto& l : listeners_) {
      const char* method = nullptr;
      switch (what) {
        case protocol::catalog_change::tools:
          method = l.filter.tools ? "notifications/tools/list_changed" : nullptr;
          break;
        case protocol::catalog_change::prompts:
          method = l.filter.prompts ? "notifications/prompts/list_changed" : nullptr;
          break;
        case protocol::catalog_change::resources:
          method = l.filter.resources ? "notifications/resources/list_changed"
                                      : nullptr;
          break;
        case protocol::catalog_change::resource_updated:
          if (std::find(l.filter.uris.begin(), l.filter.uris.end(), uri)
              != l.filter.uris.end())
            method = "notifications/resources/updated";
          break;
      }
      if (method != nullptr)
        events.emplace_back(
          l.ch,
          protocol::listen_notification(
            l.id, method,
            what == protocol::catalog_change::resource_updated ? uri
                                                               : std::string_view{}));
    }
  }
  for (auto& h : sessions) {
    auto e = event::of(event::kind::change, std::string{uri});
    e.change = what;
    caf::anon_send(h, event_atom::value, std::move(e));
  }
  for (auto& [ch, json] : events)
    ch->event({}, protocol::message_kind::notification, std::move(json));
}

void change_bus::publish_task(const std::string& task_id, const std::string& owner,
                              const std::string& params) {
  std::vector<std::pair<channel_ptr, std::string>> events;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& l : listeners_) {
      auto& ids = l.filter.task_ids;
      if (l.filter.owner != owner || std::find(ids.begin(), ids.end(), task_id) == ids.end())
        continue;
      std::string p = params;
      std::string meta = R"({"io.modelcontextprotocol/subscriptionId":)";
      meta += l.id.to_json();
      meta += '}';
      protocol::add_member(p, "_meta", meta);
      events.emplace_back(l.ch, protocol::encode_notification("notifications/tasks", p));
    }
  }
  for (auto& [ch, json] : events)
    if (ch->alive())
      ch->event({}, protocol::message_kind::notification, std::move(json));
}

void change_bus::keepalive() {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [](const listener& l) { return !l.ch->alive(); }),
                   listeners_.end());
  for (auto& l : listeners_)
    l.ch->event({}, protocol::message_kind::notification, {}); // a comment
}

void change_bus::close_all() {
  std::vector<listener> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    all.swap(listeners_);
  }
  for (auto& l : all) {
    if (!l.ch->alive())
      continue;
    l.ch->event({}, protocol::message_kind::result, protocol::listen_closed(l.id));
    l.ch->close();
  }
}

} // namespace mcpvisor::actors
