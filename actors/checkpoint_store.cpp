#include "actors/checkpoint_store.hpp"

#include <cstring>

namespace mcpvisor::actors {

checkpoint_store::checkpoint_store(uint32_t metas, uint32_t shards_per_meta)
  : metas_(metas),
    shards_(shards_per_meta),
    table_(std::make_unique<shard[]>(size_t{metas} * shards_per_meta)) {
  // nop
}

void checkpoint_store::save(const session_id& id, std::string_view state) {
  compact c;
  c.size = static_cast<uint32_t>(state.size());
  c.bytes.reset(new char[state.size()]);
  std::memcpy(c.bytes.get(), state.data(), state.size());
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  s.saved[id] = std::move(c);
}

std::string checkpoint_store::load(const session_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.saved.find(id);
  if (i == s.saved.end())
    return {};
  return std::string{i->second.bytes.get(), i->second.size};
}

void checkpoint_store::erase(const session_id& id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  s.saved.erase(id);
}

std::unordered_set<session_id> checkpoint_store::saved_in(shard_address addr) const {
  std::unordered_set<session_id> out;
  auto& s = table_[addr.meta * shards_ + addr.shard];
  std::lock_guard<std::mutex> guard{s.mtx};
  out.reserve(s.saved.size());
  for (auto& [id, c] : s.saved)
    out.insert(id);
  return out;
}

} // namespace mcpvisor::actors
