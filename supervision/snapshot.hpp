#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/supervisor_spec.hpp"

namespace mcpvisor::supervision {

/// One row of `which_children`.
struct child_info {
  std::string id;
  /// Null if the child is not running (stopped, or a transient child that
  /// exited normally).
  caf::actor handle;
  child_kind kind = child_kind::worker;
  restart_type restart = restart_type::permanent;
  /// Times this child was restarted by its supervisor.
  uint32_t restarts = 0;
  /// Text of the last abnormal exit reason, empty if none.
  std::string last_exit;
};

/// Result of `count_children`, as OTP counts them.
struct child_counts {
  size_t specs = 0;
  size_t active = 0;
  size_t supervisors = 0;
  size_t workers = 0;
};

/// How much a tree snapshot includes.
struct snapshot_options {
  /// Levels below the asked supervisor to include; negative for all.
  int depth = -1;
  /// Workers of one supervisor are listed one by one only up to this count;
  /// above it they are only counted (a shard with 10K sessions stays small).
  size_t max_workers_listed = 32;
  /// False: dynamic children (simple_one_for_one) are only counted, however
  /// few there are.
  bool list_dynamic = true;
};

/// A node of the recursive tree snapshot.
struct tree_node {
  std::string id;
  child_kind kind = child_kind::worker;
  /// Set for supervisors.
  std::optional<strategy> how;
  int intensity = 0;
  int64_t period_ms = 0;
  /// Times this node was restarted by its parent.
  uint32_t restarts = 0;
  /// Restarts this supervisor performed since it started.
  uint64_t child_restarts = 0;
  /// Restarts inside the current intensity window, and when they happened
  /// (milliseconds since the Unix epoch, oldest first).
  size_t recent_restarts = 0;
  std::vector<int64_t> recent_restart_times_ms;
  /// Children by kind (supervisors only).
  size_t workers = 0;
  size_t supervisors = 0;
  /// Mailbox depth: measured directly for supervisors, from the gauge for
  /// workers (0 when the worker has none).
  size_t mailbox_depth = 0;
  size_t mailbox_peak = 0;
  /// False if the node was listed by its parent but did not answer (for
  /// example it was restarting).
  bool reachable = true;
  /// Workers that are listed and supervisors that are within `depth`.
  std::vector<tree_node> children;
};

/// Kinds of `supervisor_event`.
enum class event_kind : uint8_t {
  child_started,
  child_exited,
  child_stopped,
  child_restarted,
  child_start_failed,
  intensity_exceeded,
  supervisor_stopped,
};

const char* to_name(event_kind k) noexcept;

/// What a supervisor tells its observer.
struct supervisor_event {
  event_kind kind;
  std::string supervisor;
  std::string child;
  /// The child's exit reason, the start error, or the supervisor's own exit
  /// reason.
  caf::error reason;
};

} // namespace mcpvisor::supervision
