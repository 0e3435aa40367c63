#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

/// The admin API's answers, computed from the running node: the supervision
/// tree, one shard's sessions, Prometheus metrics, health and readiness, the
/// andon cord, and crash injection. No HTTP here (transports/admin_server
/// maps paths to these) and no CAF in this header.
namespace mcpvisor::actors {

class node;

/// An HTTP status and a body (JSON unless `content_type` says otherwise).
struct admin_answer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// Receives an answer that is computed by actors; called on an actor's
/// thread, exactly once.
using admin_done = std::function<void(admin_answer)>;

class admin {
public:
  explicit admin(node& n);

  /// The tree from the root, `depth` levels deep (sessions are counted at
  /// their shard, never listed).
  void tree(int depth, admin_done done);

  /// The tree of cluster member `node` (this node if empty or its own
  /// name), asked of that member.
  void tree(int depth, std::string_view node, admin_done done);

  /// One page of the sessions of shard `meta`/`shard`, after the session id
  /// `cursor` (empty: from the start).
  void shard(uint32_t meta, uint32_t shard, std::string_view cursor,
             admin_done done);

  /// Counters, histograms and gauges in Prometheus text format.
  admin_answer metrics();

  /// The upstream servers: state, processes (pid, uptime, restarts, calls
  /// in flight, last exit, stderr tail).
  admin_answer upstreams();

  /// The cluster's members as this node sees them (name, address, state,
  /// sessions and andon cord of each), forwarding and replication.
  admin_answer cluster();

  /// Tasks of the tasks extension: each one's status, tool, rounds, runs
  /// and the stateless actor running it, and how many each actor runs.
  admin_answer tasks();

  /// The process answers.
  admin_answer health();

  /// Ready to take work: the cord is not pulled and every shard and
  /// stateless actor is running.
  admin_answer ready();

  /// The cord's state, thresholds, current load and recent history.
  admin_answer andon();

  /// {"action":"pull"|"release","reason":"..."}.
  admin_answer andon(std::string_view body);

  /// Kills what `body` names (see docs/operations.md, "Chaos"); the answer
  /// lists what was killed. With "every_ms" it repeats for "for_ms".
  void chaos(std::string_view body, admin_done done);

private:
  node& node_;
};

} // namespace mcpvisor::actors
