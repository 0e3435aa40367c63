#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "supervision/child_spec.hpp"

/// A cluster of mcpvisor nodes joined by CAF's io middleman over mutual TLS
/// (libcaf-openssl). Each node publishes its `membership` actor on its
/// cluster port; a new node connects to a seed, learns the members from it
/// and connects to each of them, so the nodes form a full mesh. Every node
/// monitors the membership actor of every other: a peer that dies, or goes
/// silent past the connection timeout (heartbeats), is seen as down.
///
/// What the cluster does not do yet (README, "Not built yet"): route
/// requests to the node that owns a session, replicate checkpoints to a
/// buddy, take sessions over from a dead node, or drain on SIGTERM.
namespace mcpvisor::actors {

class runtime;

/// docs/operations.md, "Running a cluster".
struct cluster_config {
  /// HOST:PORT of the cluster port; empty: the node is alone.
  std::string listen;
  /// Seed nodes (HOST:PORT), tried until one answers, and again whenever
  /// none is a member.
  std::vector<std::string> join;
  /// Stable across restarts; the listen address unless set.
  std::string node_name;
  /// PEM files: this node's certificate and key, and the cluster's CA,
  /// which every peer's certificate must be signed by.
  std::string cert;
  std::string key;
  std::string ca;
  /// How often a node sends heartbeats to its peers, and how long a peer
  /// may stay silent before its connection is dropped (and it is down).
  std::chrono::milliseconds heartbeat{std::chrono::milliseconds{500}};
  std::chrono::milliseconds timeout{std::chrono::milliseconds{3000}};

  bool enabled() const noexcept {
    return !listen.empty();
  }

  /// What the node calls itself.
  std::string name() const {
    return node_name.empty() ? listen : node_name;
  }
};

/// One member as this node sees it.
struct cluster_member {
  std::string name;
  /// Its cluster port, HOST:PORT.
  std::string address;
  /// "up" or "down".
  std::string state;
  bool self = false;
  /// Its sessions and andon cord, as it last said (every second).
  uint64_t sessions = 0;
  bool andon_pulled = false;
  /// Since when it is in its state.
  std::chrono::system_clock::time_point since;
};

/// What the membership actor knows, for the admin view (any thread).
class cluster_view {
public:
  std::vector<cluster_member> members() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return members_;
  }

  void set(std::vector<cluster_member> m) {
    std::lock_guard<std::mutex> guard{mtx_};
    members_ = std::move(m);
  }

private:
  mutable std::mutex mtx_;
  std::vector<cluster_member> members_;
};

/// The membership actor as a permanent child of the root. It publishes
/// itself on the cluster port (a port it cannot open crashes it, and the
/// root gives up after its intensity: the process exits).
supervision::child_spec cluster_child(runtime& rt, const cluster_config& cfg,
                                      cluster_view& view);

/// Splits HOST:PORT; false if it is not that.
bool split_host_port(const std::string& s, std::string& host, uint16_t& port);

} // namespace mcpvisor::actors
