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

void checkpoint_store::take(const session_id& id,
                            const std::function<void(std::string)>& f) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  std::string bytes;
  if (auto i = s.saved.find(id); i != s.saved.end()) {
    bytes.assign(i->second.bytes.get(), i->second.size);
    s.saved.erase(i);
  }
  f(std::move(bytes));
}

void checkpoint_store::for_each(
  const std::function<void(const session_id&, std::string_view)>& f) const {
  for (size_t k = 0; k < size_t{metas_} * shards_; ++k) {
    auto& s = table_[k];
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto& [id, c] : s.saved)
      f(id, std::string_view{c.bytes.get(), c.size});
  }
}

size_t checkpoint_store::size() const {
  size_t n = 0;
  for (size_t k = 0; k < size_t{metas_} * shards_; ++k) {
    auto& s = table_[k];
    std::lock_guard<std::mutex> guard{s.mtx};
    n += s.saved.size();
  }
  return n;
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
