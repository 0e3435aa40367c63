#include "protocol/idempotency.hpp"

#include "protocol/json.hpp"
#include "protocol/jsonrpc.hpp"

namespace mcpvisor::protocol {

idempotency_table::seen idempotency_table::begin(const std::string& key,
                                                 std::string_view digest,
                                                 int64_t now_ms) {
  expire(now_ms);
  seen out;
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (it->second.digest != digest)
      out.v = verdict::conflict;
    else if (!it->second.done)
      out.v = verdict::wait;
    else {
      out.v = verdict::replay;
      out.answer = it->second.answer;
    }
    return out;
  }
  if (entries_.size() >= limits_.max_keys) {
    // make room: the oldest finished key goes first
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.done
          && (oldest == entries_.end() || it->second.created_ms < oldest->second.created_ms))
        oldest = it;
    if (oldest == entries_.end()) {
      out.v = verdict::full;
      return out;
    }
    entries_.erase(oldest);
  }
  entries_.emplace(key, entry{std::string{digest}, {}, false, now_ms});
  return out;
}

void idempotency_table::finish(const std::string& key, std::string answer,
                               int64_t) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.done)
    return;
  it->second.answer = std::move(answer);
  it->second.done = true;
}

void idempotency_table::forget(const std::string& key) {
  auto it = entries_.find(key);
  if (it != entries_.end() && !it->second.done)
    entries_.erase(it);
}

size_t idempotency_table::expire(int64_t now_ms) {
  if (now_ms - last_sweep_ms_ < 1000)
    return 0;
  last_sweep_ms_ = now_ms;
  size_t n = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now_ms >= it->second.created_ms + limits_.ttl.count()) {
      it = entries_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::string answer_again(std::string_view answer, std::string_view id_json) {
  auto doc = parse_json(answer);
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_json;
  if (auto* r = find_member(doc ? &*doc : nullptr, "result")) {
    out += R"(,"result":)";
    out += to_json(*r);
  } else if (auto* e = find_member(doc ? &*doc : nullptr, "error")) {
    out += R"(,"error":)";
    out += to_json(*e);
  } else {
    out += R"(,"error":{"code":-32603,"message":"the stored answer is unreadable"})";
  }
  out += '}';
  return out;
}

} // namespace mcpvisor::protocol
