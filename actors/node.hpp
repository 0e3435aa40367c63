#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <functional>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "actors/cluster.hpp"
#include "actors/runtime.hpp"
#include "actors/session.hpp"
#include "actors/tree.hpp"

namespace mcpvisor::actors {

/// How the node's actor system runs.
struct node_config {
  runtime_config runtime;
  /// CAF scheduler threads; 0 picks `half_the_cores()`.
  size_t scheduler_threads = 0;
  /// "sharing" (one shared queue) or "stealing" (work stealing); with
  /// `configure` installing a scheduler of its own, only a name for logs.
  std::string scheduler_policy = "sharing";
  /// Called on the actor system's configuration last (the `io` scheduler
  /// is installed there, app/io_scheduler.hpp).
  std::function<void(caf::actor_system_config&)> configure;
  /// Other nodes to join (off unless `cluster.listen` is set).
  cluster_config cluster;
};

/// The default for scheduler and I/O threads: half of the cores, at least
/// one. Measured on 2 cores with the load generator alongside, one
/// scheduler thread served the most calls at the lowest CPU per call
/// (docs/benchmarks.md, "Thread defaults").
size_t half_the_cores();

/// The process's actor system and supervision tree. `main` starts one,
/// `wait`s for it, and turns the root's exit into the process's exit status.
class node {
public:
  /// `srv` is the MCP engine's context (null for a tree without MCP, as in
  /// tests and the tree benchmark); it must outlive the node.
  explicit node(const node_config& cfg, protocol::server_context* srv = nullptr,
                session_factory make_session = spawn_session);

  /// Stops the tree if it still runs, then the actor system.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts the root supervisor and waits until the whole tree runs: the
  /// stateless actors and the timer (when serving MCP), then the
  /// meta-shards. `periodic` tasks run from the timer.
  caf::error start(std::vector<protocol::periodic_task> periodic = {});

  /// Blocks until the root supervisor has exited. Returns 0 if it stopped
  /// because `stop` was called, 1 if it gave up (its restart intensity was
  /// exceeded), so a service manager restarts the process.
  int wait();

  /// Asks the tree to stop, children in reverse order. Thread-safe.
  void stop();

  /// SIGTERM: a member of a cluster drains (new sessions go to its peers,
  /// its sessions move to their buddies) and stops once no client waits
  /// for it; a node alone stops. Thread-safe.
  void drain();

  /// The exit reason of the root after `wait`, rendered for a log line.
  const std::string& exit_text() const noexcept {
    return exit_text_;
  }

  caf::actor_system& system() noexcept {
    return *sys_;
  }

  runtime& rt() noexcept {
    return *rt_;
  }

  const caf::actor& root() const noexcept {
    return root_;
  }

  /// The cluster this node is a member of; null when it is alone.
  actors::cluster* clustered() noexcept {
    return cluster_.get();
  }

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<runtime> rt_;
  std::unique_ptr<cluster> cluster_;
  session_factory make_session_;
  caf::actor root_;
  std::string exit_text_;
  bool waited_ = false;
  int status_ = 0;
};

} // namespace mcpvisor::actors
