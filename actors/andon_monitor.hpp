#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "actors/runtime.hpp"
#include "supervision/child_spec.hpp"

/// The overload monitor: a worker under the root that samples how much work
/// is waiting, the process's memory and descriptors, and the tree's restart
/// rate, and pulls the andon cord past a high-water mark and releases it
/// below the low-water marks.
namespace mcpvisor::actors {

/// One sample of what the monitor watches.
struct load_sample {
  /// Requests in flight or messages waiting, each session counted up to
  /// its share (see `queued_work`).
  uint64_t queued = 0;
  size_t rss_bytes = 0;
  size_t fds = 0;
  /// Restarts anywhere in the tree per second since the last sample.
  double restarts_per_s = 0;
};

/// The thresholds of an `andon_config`, resolved for this process (the
/// descriptor limit is the process's own).
struct andon_marks {
  uint64_t queue_high = 0;
  uint64_t queue_low = 0;
  size_t rss_high = 0; // 0: not watched
  size_t rss_low = 0;
  size_t fds_high = 0;
  size_t fds_low = 0;
  double restarts_high = 0;
  double restarts_low = 0;

  static andon_marks from(const andon_config& cfg, size_t fd_limit);
};

/// What a sample says: a reason to pull the cord if a high-water mark is
/// reached; otherwise whether everything is below its low-water mark.
struct andon_verdict {
  std::optional<std::string> pull;
  bool calm = false;
};

andon_verdict judge(const load_sample& s, const andon_marks& m);

/// Queued work as the monitor counts it (see load_sample::queued).
uint64_t queued_work(runtime& rt);

/// The monitor's child spec (a permanent worker of the root).
supervision::child_spec andon_monitor(runtime& rt);

} // namespace mcpvisor::actors
