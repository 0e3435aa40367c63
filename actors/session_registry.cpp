#include "actors/session_registry.hpp"

#include <caf/actor_cast.hpp>

namespace mcpvisor::actors {

uint32_t steady_seconds() noexcept {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

caf::actor shard_slot::supervisor() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return sup_;
}

void shard_slot::set_supervisor(caf::actor sup) {
  std::lock_guard<std::mutex> guard{mtx_};
  sup_ = std::move(sup);
}

caf::actor shard_slot::find(const session_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return caf::actor{};
  i->second.last_used = steady_seconds();
  return i->second.handle;
}

void shard_slot::put(const session_id& id, caf::actor handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = sessions_[id];
  e.handle = std::move(handle);
  e.last_used = steady_seconds();
}

void shard_slot::erase_if(const session_id& id, const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i != sessions_.end()
      && caf::actor_cast<caf::actor_addr>(i->second.handle) == who)
    sessions_.erase(i);
}

void shard_slot::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.clear();
}

std::vector<session_id> shard_slot::restartable() {
  std::vector<session_id> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.checkpoint.empty()) {
      it = sessions_.erase(it);
    } else {
      out.push_back(it->first);
      ++it;
    }
  }
  return out;
}

size_t shard_slot::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return sessions_.size();
}

void shard_slot::save_checkpoint(const session_id& id, std::string state) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i != sessions_.end())
    i->second.checkpoint = std::move(state);
}

std::string shard_slot::checkpoint(const session_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  return i == sessions_.end() ? std::string{} : i->second.checkpoint;
}

std::vector<caf::actor> shard_slot::idle_since(uint32_t before) const {
  std::vector<caf::actor> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [id, e] : sessions_)
    if (e.last_used < before)
      out.push_back(e.handle);
  return out;
}

std::vector<std::pair<session_id, caf::actor>> shard_slot::all() const {
  std::vector<std::pair<session_id, caf::actor>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  out.reserve(sessions_.size());
  for (auto& [id, e] : sessions_)
    out.emplace_back(id, e.handle);
  return out;
}

session_registry::session_registry(uint32_t metas, uint32_t shards_per_meta)
  : metas_(metas),
    shards_(shards_per_meta),
    slots_(std::make_unique<shard_slot[]>(size_t{metas} * shards_per_meta)) {
  // nop
}

caf::actor session_registry::find(const session_id& id) {
  return slot_of(id).find(id);
}

size_t session_registry::size() const {
  size_t n = 0;
  for (size_t i = 0; i < size_t{metas_} * shards_; ++i)
    n += slots_[i].size();
  return n;
}

void session_registry::for_each(const std::function<void(shard_slot&)>& f) {
  for (size_t i = 0; i < size_t{metas_} * shards_; ++i)
    f(slots_[i]);
}

} // namespace mcpvisor::actors
