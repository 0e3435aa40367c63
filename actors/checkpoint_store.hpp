#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "actors/session_id.hpp"

/// The state each session keeps outside its actor (the engine's compact
/// checkpoint: what initialize negotiated, subscriptions, log level), so
/// that an actor started after a crash, a kill or a shard restart continues
/// where the last one stopped, and a sleeping session costs only this. One
/// table per shard behind its own mutex; never locked together with the
/// registry.
namespace mcpvisor::actors {

class checkpoint_store {
public:
  checkpoint_store(uint32_t metas, uint32_t shards_per_meta);

  /// Replaces the checkpoint of `id`.
  void save(const session_id& id, std::string_view state);

  /// The last checkpoint of `id`, or empty.
  std::string load(const session_id& id) const;

  /// Forgets `id` (the session ended for good).
  void erase(const session_id& id);

  /// Calls `f` with the checkpoint of `id` (empty if none) and removes it,
  /// under the lock of its shard: two threads that take the same session
  /// over find it once.
  void take(const session_id& id, const std::function<void(std::string)>& f);

  /// Calls `f` for every checkpoint, one shard's lock at a time.
  void for_each(const std::function<void(const session_id&, std::string_view)>& f) const;

  /// Checkpoints stored.
  size_t size() const;

  /// The sessions of one shard that have a checkpoint.
  std::unordered_set<session_id> saved_in(shard_address addr) const;

private:
  /// The bytes, allocated to fit: 100,000 sessions would feel a string's
  /// spare capacity and its 32-byte header.
  struct compact {
    uint32_t size = 0;
    std::unique_ptr<char[]> bytes;
  };

  struct shard {
    mutable std::mutex mtx;
    std::unordered_map<session_id, compact> saved;
  };

  shard& shard_of(const session_id& id) const noexcept {
    auto a = id.address(metas_, shards_);
    return table_[a.meta * shards_ + a.shard];
  }

  uint32_t metas_;
  uint32_t shards_;
  std::unique_ptr<shard[]> table_;
};

} // namespace mcpvisor::actors
