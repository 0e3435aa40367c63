#include "actors/session_registry.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace mcpvisor::actors {

uint32_t steady_seconds() noexcept {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

session_registry::session_registry(uint32_t metas, uint32_t shards_per_meta)
  : metas_(metas),
    shards_(shards_per_meta),
    shards_table_(std::make_unique<shard[]>(size_t{metas} * shards_per_meta)) {
  // nop
}

// -- names --------------------------------------------------------------------

session_registry::registered
session_registry::register_name(const session_id& id, inbound_ptr first,
                                size_t limit) {
  if (count_.fetch_add(1, std::memory_order_relaxed) >= limit) {
    count_.fetch_sub(1, std::memory_order_relaxed);
    return registered::full;
  }
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto [i, fresh] = s.sessions.try_emplace(id);
  if (!fresh) {
    count_.fetch_sub(1, std::memory_order_relaxed);
    return registered::taken;
  }
  auto& e = i->second;
  e.created = e.last_used = steady_seconds();
  if (first != nullptr) {
    e.handover = std::make_unique<session_handover>();
    e.handover->queued.push_back(std::move(first));
  }
  return registered::ok;
}

std::unique_ptr<session_handover>
session_registry::unregister_name(const session_id& id,
                                  const caf::actor_addr& who) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end()
      || caf::actor_cast<caf::actor_addr>(i->second.handle) != who)
    return nullptr;
  auto left = std::move(i->second.handover);
  s.sessions.erase(i);
  count_.fetch_sub(1, std::memory_order_relaxed);
  return left;
}

caf::actor session_registry::whereis(const session_id& id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end())
    return caf::actor{};
  i->second.last_used = steady_seconds();
  return i->second.handle;
}

session_registry::sent session_registry::send(const session_id& id,
                                              inbound_ptr in) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end())
    return {};
  auto& e = i->second;
  e.last_used = steady_seconds();
  if (e.load == nullptr) // allocated when the session is first used
    e.load = std::make_shared<std::atomic<uint32_t>>(0);
  bool wake = false;
  if (e.handle) {
    caf::anon_send(e.handle, event_atom::value, event::of(std::move(in)));
  } else {
    if (e.handover == nullptr)
      e.handover = std::make_unique<session_handover>();
    e.handover->queued.push_back(std::move(in));
    if (e.passive) {
      e.passive = false;
      e.waking = true;
      wake = true;
    }
  }
  return {true, e.load, wake};
}

bool session_registry::known(const session_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  return s.sessions.count(id) > 0;
}

// -- the actors that serve a session -------------------------------------------

bool session_registry::put(const session_id& id, caf::actor handle) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto [i, fresh] = s.sessions.try_emplace(id);
  auto& e = i->second;
  auto now = steady_seconds();
  if (fresh) {
    e.created = now;
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  bool restart = e.started && !e.waking;
  if (restart)
    ++e.restarts;
  if (e.waking)
    e.asleep = false;
  e.started = true;
  e.passive = false;
  e.waking = false;
  e.handle = std::move(handle);
  e.last_used = now;
  return restart;
}

bool session_registry::begin_restart(const session_id& id,
                                     const caf::actor_addr& who) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end()
      || caf::actor_cast<caf::actor_addr>(i->second.handle) != who)
    return false;
  i->second.handle = caf::actor{};
  return true;
}

void session_registry::leave(const session_id& id,
                             std::unique_ptr<session_handover> h) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end())
    return;
  auto& e = i->second;
  if (e.handover != nullptr) {
    // messages queued meanwhile come after those the actor left
    for (auto& in : e.handover->queued)
      h->queued.push_back(std::move(in));
  }
  e.handover = std::move(h);
}

std::unique_ptr<session_handover>
session_registry::take_handover(const session_id& id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end())
    return nullptr;
  return std::move(i->second.handover);
}

bool session_registry::has_handover(const session_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  return i != s.sessions.end() && i->second.handover != nullptr;
}

void session_registry::set_asleep(const session_id& id, bool asleep) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  if (auto i = s.sessions.find(id); i != s.sessions.end())
    i->second.asleep = asleep;
}

bool session_registry::passivate(const session_id& id, const caf::actor_addr& who) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end() || caf::actor_cast<caf::actor_addr>(i->second.handle) != who)
    return false;
  auto& e = i->second;
  e.handle = caf::actor{};
  e.passive = true;
  e.asleep = true;
  return true;
}

bool session_registry::wake(const session_id& id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.sessions.find(id);
  if (i == s.sessions.end() || !i->second.passive)
    return false;
  i->second.passive = false;
  i->second.waking = true;
  return true;
}

size_t session_registry::passive() const {
  size_t n = 0;
  for (uint32_t k = 0; k < metas_ * shards_; ++k) {
    auto& s = shards_table_[k];
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto& [id, e] : s.sessions)
      n += e.passive ? 1 : 0;
  }
  return n;
}

std::vector<session_id> session_registry::passive_in(shard_address addr) const {
  std::vector<session_id> out;
  auto& s = at(addr);
  std::lock_guard<std::mutex> guard{s.mtx};
  for (auto& [id, e] : s.sessions)
    if (e.passive)
      out.push_back(id);
  return out;
}

size_t session_registry::asleep() const {
  size_t n = 0;
  for (size_t k = 0; k < size_t{metas_} * shards_; ++k) {
    auto& s = shards_table_[k];
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto& [id, e] : s.sessions)
      n += e.asleep ? 1 : 0;
  }
  return n;
}

// -- one shard at a time ----------------------------------------------------------

std::vector<session_id>
session_registry::restart_shard(shard_address addr,
                                const std::unordered_set<session_id>& saved,
                                dropped& out) {
  std::vector<session_id> survivors;
  auto& s = at(addr);
  std::lock_guard<std::mutex> guard{s.mtx};
  for (auto it = s.sessions.begin(); it != s.sessions.end();) {
    if (saved.count(it->first) == 0) {
      if (it->second.handover != nullptr)
        out.handovers.push_back(std::move(it->second.handover));
      it = s.sessions.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
    } else {
      if (!it->second.passive)
        survivors.push_back(it->first);
      ++it;
    }
  }
  return survivors;
}

session_registry::sweep_result
session_registry::sweep(shard_address addr, uint32_t expire_before,
                        uint32_t sleep_before, uint32_t unstarted_before,
                        dropped& out) {
  sweep_result res;
  auto& s = at(addr);
  std::lock_guard<std::mutex> guard{s.mtx};
  for (auto it = s.sessions.begin(); it != s.sessions.end();) {
    auto& e = it->second;
    if (!e.started && e.created < unstarted_before) {
      if (e.handover != nullptr)
        out.handovers.push_back(std::move(e.handover));
      it = s.sessions.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    if (e.passive && e.last_used < expire_before) {
      res.forgotten.push_back(it->first);
      it = s.sessions.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    if (e.handle && e.last_used < expire_before)
      res.expired.push_back(e.handle);
    else if (e.handle && !e.asleep && e.last_used < sleep_before)
      res.drowsy.push_back(e.handle);
    ++it;
  }
  return res;
}

std::vector<std::pair<session_id, caf::actor>>
session_registry::all(shard_address addr) const {
  std::vector<std::pair<session_id, caf::actor>> out;
  auto& s = at(addr);
  std::lock_guard<std::mutex> guard{s.mtx};
  out.reserve(s.sessions.size());
  for (auto& [id, e] : s.sessions)
    if (e.handle)
      out.emplace_back(id, e.handle);
  return out;
}

std::vector<session_registry::row>
session_registry::page(shard_address addr, const session_id* after,
                       size_t limit, bool& more) const {
  std::vector<row> out;
  {
    auto& s = at(addr);
    std::lock_guard<std::mutex> guard{s.mtx};
    out.reserve(s.sessions.size());
    for (auto& [id, e] : s.sessions)
      if (after == nullptr || *after < id)
        out.push_back(row{id, e.handle, e.created, e.last_used, e.restarts, e.passive});
  }
  std::sort(out.begin(), out.end(),
            [](const row& x, const row& y) { return x.id < y.id; });
  more = out.size() > limit;
  if (more)
    out.resize(limit);
  return out;
}

} // namespace mcpvisor::actors
