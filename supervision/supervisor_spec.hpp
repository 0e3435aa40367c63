#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/mailbox_gauge.hpp"

namespace mcpvisor::supervision {

/// What happens to the other children when one must be restarted.
enum class strategy : uint8_t {
  /// Only the child that exited is restarted.
  one_for_one,
  /// All children are stopped (in reverse order) and started again.
  one_for_all,
  /// The child and those started after it are stopped and started again.
  rest_for_one,
  /// One template spec; children are added with start_child and extra
  /// arguments, restarted one for one and stopped in parallel.
  simple_one_for_one,
};

/// Short stable name, e.g. "one_for_one".
const char* to_name(strategy s) noexcept;

/// Restart intensity and strategy of a supervisor.
struct supervisor_flags {
  strategy how = strategy::one_for_one;
  /// At most this many restarts...
  int intensity = 1;
  /// ...within this window, or the supervisor gives up and escalates.
  std::chrono::milliseconds period{5000};
};

/// Everything a supervisor is started with.
struct supervisor_spec {
  /// Name shown in snapshots and events.
  std::string id;
  supervisor_flags flags;
  /// Children in start order; for simple_one_for_one exactly one template.
  std::vector<child_spec> children;
  /// Optional: every child gets a mailbox gauge from here. Must outlive the
  /// supervisor.
  gauge_registry* gauges = nullptr;
  /// Optional: receives a `supervisor_event` for every start, exit, restart
  /// and give-up. Used by tests and crash reports; leave unset on hot paths.
  caf::actor observer;
};

} // namespace mcpvisor::supervision
