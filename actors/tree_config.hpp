#pragma once

#include <chrono>
#include <cstdint>

namespace mcpvisor::actors {

/// Shape and restart limits of the supervision tree. Defaults are documented
/// in docs/configuration.md with the measurements behind them.
struct tree_config {
  /// Meta-shards under the root.
  uint32_t meta_shards = 4;
  /// Shards under each meta-shard.
  uint32_t shards_per_meta = 16;
  /// The root gives up (and the process exits non-zero) after more than
  /// this many meta-shard restarts within the period.
  int root_intensity = 3;
  std::chrono::milliseconds root_period{30000};
  /// A meta-shard gives up after more than this many shard restarts.
  int meta_intensity = 5;
  std::chrono::milliseconds meta_period{10000};
  /// A shard gives up after more than this many session restarts.
  int shard_intensity = 100;
  std::chrono::milliseconds shard_period{1000};
};

} // namespace mcpvisor::actors
