#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "actors/channel.hpp"
#include "actors/metrics.hpp"
#include "protocol/ingress.hpp"

/// The one way into the runtime: a transport routes a message with
/// protocol/ingress and submits the route here. No CAF and no Beast on
/// either side of it; every call enqueues and returns at once, and answers
/// arrive on the channel. This is the seam where a message is forwarded to
/// another node of a cluster (the session's owner, or a peer that creates a
/// session while this node's andon cord is pulled).
namespace mcpvisor::actors {

class runtime;
struct cluster_member;
struct inbound;

class gateway {
public:
  explicit gateway(runtime& rt);

  enum class result {
    ok,
    /// No session with that id (HTTP 404).
    unknown_session,
    /// The session limit is reached (HTTP 503).
    full,
    /// Nobody can take the message right now (a shard or actor is
    /// restarting; HTTP 503, retry).
    unavailable,
  };

  /// Where the answers of a submitted message go.
  struct delivery {
    /// The exchange; null for notifications and responses to a session
    /// (answered 202 by the transport) and for DELETE.
    channel_ptr ch;
    /// stdio: every later message of the session also goes to `ch`.
    bool single_channel = false;
    /// A transport that counts requests in flight passes this; it then
    /// holds the request until the transport drops it when the exchange
    /// ends.
    flight* in_flight = nullptr;
    /// initialize: receives the new session's id.
    std::string* session_out = nullptr;
    /// Nodes of a cluster the message passed before this one.
    uint8_t hops = 0;
    /// It was forwarded to a node that died before it answered (see
    /// inbound::orphan).
    bool orphan = false;
  };

  /// Submits a routed message (`msg` for initialize, session and stateless
  /// routes). Routes of kind `answer` are the transport's own business.
  result submit(const protocol::route& r, std::unique_ptr<protocol::message> msg,
                delivery d);

  /// The answer a transport sends when `submit` did not return ok.
  static protocol::route refusal(result res, const protocol::request_id& id);

  /// True if `session_id` names a live session.
  bool known(std::string_view session_id) const;

  /// True if a message for the session of route `r` is taken here, not on
  /// another node of the cluster: a notification or response for a session
  /// elsewhere is an exchange of its own (the owner says 202 or 404).
  bool local(const protocol::route& r);

  size_t sessions() const;

  /// True while the andon cord is pulled: new connections, sessions and
  /// requests are refused at once; work already accepted goes on.
  bool overloaded() const noexcept;

  /// True if a peer of the cluster creates new sessions that this node
  /// cannot take now (its cord is pulled, or it drains).
  bool sessions_elsewhere() const;

  /// Counters the transports bump (requests, latencies, connections).
  metrics& stats() noexcept;

private:
  result initialize(std::unique_ptr<protocol::message> msg, delivery& d);
  result to_session(const protocol::route& r,
                    std::unique_ptr<protocol::message> msg, delivery& d);
  result stateless(const protocol::route& r,
                   std::unique_ptr<protocol::message> msg, delivery& d);
  /// Sends the message to another node of the cluster.
  /// The member holding the task a tasks/* request names, if another node
  /// holds it (the task id names its node in a cluster).
  std::optional<cluster_member> task_holder(const protocol::route& r,
                                            const protocol::message& msg);

  result forward(const cluster_member& to, std::string_view session, const inbound& in,
                 bool request, delivery& d, bool stateless = false);

  runtime& rt_;
  std::atomic<size_t> next_stateless_{0};
};

} // namespace mcpvisor::actors
