#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "actors/channel.hpp"
#include "protocol/catalog.hpp"
#include "protocol/jsonrpc.hpp"

/// Fans catalog changes out: to the session actors that want them (a
/// standalone stream is open, or a resource is subscribed) as messages, and
/// to 2026-07-28 subscriptions/listen streams as events on their channels,
/// filtered by what each subscription asked for.
namespace mcpvisor::actors {

class change_bus {
public:
  /// Receives changes until `forget`.
  void watch(const caf::actor& session);
  void forget(const caf::actor& session);

  struct listen_filter {
    bool tools = false;
    bool prompts = false;
    bool resources = false;
    std::vector<std::string> uris;
    std::vector<std::string> task_ids;
    /// Whose tasks it may hear of (the token's subject, or empty).
    std::string owner;
  };

  /// A subscriptions/listen stream on `ch`, id `subscription`.
  void listen(channel_ptr ch, protocol::request_id subscription,
              listen_filter filter);

  /// Called by the catalog (any thread).
  void publish(protocol::catalog_change what, std::string_view uri);

  /// A task's status changed: notifications/tasks with `params` (see
  /// protocol::task_notification_params) on the streams listening to it.
  void publish_task(const std::string& task_id, const std::string& owner,
                    const std::string& params);

  /// Sends an SSE comment on every listen stream so idle intermediaries
  /// keep them open; drops streams whose clients left.
  void keepalive();

  /// Ends every listen stream gracefully (shutdown).
  void close_all();

private:
  struct listener {
    channel_ptr ch;
    protocol::request_id id;
    listen_filter filter;
  };

  mutable std::mutex mtx_;
  std::unordered_map<caf::actor_id, caf::actor> sessions_;
  std::vector<listener> listeners_;
};

} // namespace mcpvisor::actors
