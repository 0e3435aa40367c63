#include "actors/session_registry.hpp"

#include <caf/actor_cast.hpp>

namespace mcpvisor::actors {

caf::actor shard_slot::supervisor() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return sup_;
}

void shard_slot::set_supervisor(caf::actor sup) {
  std::lock_guard<std::mutex> guard{mtx_};
  sup_ = std::move(sup);
}

caf::actor shard_slot::find(const session_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  return i == sessions_.end() ? caf::actor{} : i->second;
}

void shard_slot::put(const session_id& id, caf::actor handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.insert_or_assign(id, std::move(handle));
}

void shard_slot::erase_if(const session_id& id, const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i != sessions_.end() && caf::actor_cast<caf::actor_addr>(i->second) == who)
    sessions_.erase(i);
}

void shard_slot::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.clear();
}

size_t shard_slot::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return sessions_.size();
}

session_registry::session_registry(uint32_t metas, uint32_t shards_per_meta)
  : metas_(metas),
    shards_(shards_per_meta),
    slots_(std::make_unique<shard_slot[]>(size_t{metas} * shards_per_meta)) {
  // nop
}

caf::actor session_registry::find(const session_id& id) const {
  auto addr = id.address(metas_, shards_);
  return slots_[addr.meta * shards_ + addr.shard].find(id);
}

size_t session_registry::size() const {
  size_t n = 0;
  for (size_t i = 0; i < size_t{metas_} * shards_; ++i)
    n += slots_[i].size();
  return n;
}

} // namespace mcpvisor::actors
