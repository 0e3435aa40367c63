#include "actors/session_registry.hpp"

#include <algorithm>
#include <cstring>

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

bool shard_slot::known(const session_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return sessions_.count(id) > 0;
}

shard_slot::routed shard_slot::route(const session_id& id, inbound_ptr& in) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return {};
  auto& e = i->second;
  e.last_used = steady_seconds();
  if (e.load == nullptr) // allocated when the session is first used
    e.load = std::make_shared<std::atomic<uint32_t>>(0);
  if (e.handle)
    return {e.handle, true, e.load};
  if (e.handover == nullptr)
    e.handover = std::make_unique<session_handover>();
  e.handover->queued.push_back(std::move(in));
  return {caf::actor{}, true, e.load};
}

void shard_slot::clear_supervisor_if(const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (caf::actor_cast<caf::actor_addr>(sup_) == who)
    sup_ = caf::actor{};
}

bool shard_slot::reserve(const session_id& id, inbound_ptr first) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto [i, fresh] = sessions_.try_emplace(id);
  if (!fresh)
    return false;
  auto& e = i->second;
  e.created = e.last_used = steady_seconds();
  e.handover = std::make_unique<session_handover>();
  e.handover->queued.push_back(std::move(first));
  return true;
}

bool shard_slot::put(const session_id& id, caf::actor handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto [i, fresh] = sessions_.try_emplace(id);
  auto& e = i->second;
  auto now = steady_seconds();
  if (fresh)
    e.created = now;
  bool restart = e.started;
  if (restart)
    ++e.restarts;
  e.started = true;
  e.handle = std::move(handle);
  e.last_used = now;
  return restart;
}


bool shard_slot::begin_restart(const session_id& id, const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end()
      || caf::actor_cast<caf::actor_addr>(i->second.handle) != who)
    return false;
  i->second.handle = caf::actor{};
  return true;
}

void shard_slot::leave(const session_id& id, std::unique_ptr<session_handover> h) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end()) {
    guard.unlock();
    return; // `h` (and any message in it) is dropped outside the lock
  }
  auto& e = i->second;
  if (e.handover != nullptr) {
    // messages queued meanwhile come after those the actor left
    for (auto& in : e.handover->queued)
      h->queued.push_back(std::move(in));
  }
  std::swap(e.handover, h);
  guard.unlock();
}

std::unique_ptr<session_handover> shard_slot::take_handover(const session_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return nullptr;
  return std::move(i->second.handover);
}

bool shard_slot::has_handover(const session_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  return i != sessions_.end() && i->second.handover != nullptr;
}

void shard_slot::erase_if(const session_id& id, const caf::actor_addr& who) {
  std::unique_ptr<session_handover> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i != sessions_.end()
      && caf::actor_cast<caf::actor_addr>(i->second.handle) == who) {
    dropped = std::move(i->second.handover);
    sessions_.erase(i);
  }
  // `guard` unlocks before `dropped` goes: a message in it that is handed
  // on takes this lock again
}

std::vector<session_id> shard_slot::restartable() {
  std::vector<session_id> out;
  std::vector<std::unique_ptr<session_handover>> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.checkpoint_size == 0) {
      dropped.push_back(std::move(it->second.handover));
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
  if (i == sessions_.end())
    return;
  auto& e = i->second;
  e.checkpoint_size = static_cast<uint32_t>(state.size());
  e.checkpoint.reset(new char[state.size()]);
  std::memcpy(e.checkpoint.get(), state.data(), state.size());
}

std::string shard_slot::checkpoint(const session_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return {};
  return std::string{i->second.checkpoint.get(), i->second.checkpoint_size};
}

shard_slot::sweep_result shard_slot::sweep(uint32_t expire_before,
                                           uint32_t sleep_before,
                                           uint32_t unstarted_before) {
  sweep_result out;
  std::vector<std::unique_ptr<session_handover>> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto& e = it->second;
    if (!e.started && e.created < unstarted_before) {
      dropped.push_back(std::move(e.handover));
      it = sessions_.erase(it);
      continue;
    }
    if (e.handle && e.last_used < expire_before)
      out.expired.push_back(e.handle);
    else if (e.handle && !e.asleep && e.last_used < sleep_before)
      out.drowsy.push_back(e.handle);
    ++it;
  }
  return out;
}

void shard_slot::set_asleep(const session_id& id, bool asleep) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = sessions_.find(id); i != sessions_.end())
    i->second.asleep = asleep;
}

size_t shard_slot::asleep() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [id, e] : sessions_)
    n += e.asleep ? 1 : 0;
  return n;
}

std::vector<std::pair<session_id, caf::actor>> shard_slot::all() const {
  std::vector<std::pair<session_id, caf::actor>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  out.reserve(sessions_.size());
  for (auto& [id, e] : sessions_)
    if (e.handle)
      out.emplace_back(id, e.handle);
  return out;
}

std::vector<shard_slot::row> shard_slot::page(const session_id* after,
                                              size_t limit, bool& more) const {
  std::vector<row> out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    out.reserve(sessions_.size());
    for (auto& [id, e] : sessions_)
      if (after == nullptr || *after < id)
        out.push_back(row{id, e.handle, e.created, e.last_used, e.restarts});
  }
  std::sort(out.begin(), out.end(),
            [](const row& x, const row& y) { return x.id < y.id; });
  more = out.size() > limit;
  if (more)
    out.resize(limit);
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

size_t session_registry::asleep() const {
  size_t n = 0;
  for (size_t i = 0; i < size_t{metas_} * shards_; ++i)
    n += slots_[i].asleep();
  return n;
}

void session_registry::for_each(const std::function<void(shard_slot&)>& f) {
  for (size_t i = 0; i < size_t{metas_} * shards_; ++i)
    f(slots_[i]);
}

} // namespace mcpvisor::actors
