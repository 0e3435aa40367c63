#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::supervision {

/// When a child is restarted after it exits (OTP's restart types).
enum class restart_type : uint8_t {
  /// Always restarted.
  permanent,
  /// Restarted only after an abnormal exit (see `is_normal_exit`).
  transient,
  /// Never restarted; its spec is forgotten once it exits.
  temporary,
};

/// Whether a child is a worker or a supervisor of its own children.
enum class child_kind : uint8_t { worker, supervisor };

/// How a supervisor stops one of its children.
struct shutdown_policy {
  enum class mode : uint8_t {
    /// Kill at once (`exit_reason::kill`, cannot be trapped).
    brutal_kill,
    /// Ask to stop (`exit_reason::user_shutdown`), kill after `after`.
    timeout,
    /// Ask to stop and wait as long as it takes (for supervisors, which
    /// bound the time with their own children's policies).
    infinity,
  };

  mode how = mode::timeout;
  std::chrono::milliseconds after{5000};

  static shutdown_policy brutal_kill() {
    return {mode::brutal_kill, std::chrono::milliseconds{0}};
  }

  static shutdown_policy timeout(std::chrono::milliseconds ms) {
    return {mode::timeout, ms};
  }

  static shutdown_policy infinity() {
    return {mode::infinity, std::chrono::milliseconds{0}};
  }
};

/// What a start function is given.
struct start_context {
  /// The system to spawn in.
  caf::actor_system& system;
  /// The child's id (for dynamic children, the id given to start_child).
  const std::string& id;
  /// Extra arguments given to start_child under simple_one_for_one; empty
  /// otherwise. The same arguments are passed again on every restart.
  const caf::message& args;
  /// A gauge the child may publish its mailbox depth into, or null when the
  /// supervisor has no gauge registry. It stays the same across restarts.
  mailbox_gauge* gauge;
};

/// Spawns the child and returns its handle, or an error if it cannot start.
/// A supervisor child counts as started once it acknowledged that all of its
/// own children started (see `supervisor_child`).
using start_function
  = std::function<caf::expected<caf::actor>(const start_context&)>;

/// Everything a supervisor needs to know to start, restart and stop a child.
struct child_spec {
  std::string id;
  start_function start;
  restart_type restart = restart_type::permanent;
  shutdown_policy shutdown = shutdown_policy::timeout(std::chrono::seconds{5});
  child_kind kind = child_kind::worker;
};

/// Returns an error naming the problem if `spec` cannot be used: empty id, no
/// start function, or a timeout shutdown without a positive time.
caf::error validate(const child_spec& spec);

} // namespace mcpvisor::supervision
