#include "supervision/mailbox_gauge.hpp"

#include <new>

namespace mcpvisor::supervision {

mailbox_gauge* gauge_registry::acquire() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (free_.empty()) {
    auto n = chunk_count_.load(std::memory_order_relaxed);
    if (n == max_chunks)
      throw std::bad_alloc{};
    chunks_[n] = std::make_unique<chunk>();
    free_.reserve(free_.size() + chunk_size);
    for (size_t i = chunk_size; i > 0; --i)
      free_.push_back(&(*chunks_[n])[i - 1]);
    chunk_count_.store(n + 1, std::memory_order_release);
  }
  auto* gauge = free_.back();
  free_.pop_back();
  gauge->reset();
  gauge->in_use_.store(true, std::memory_order_release);
  return gauge;
}

void gauge_registry::release(mailbox_gauge* gauge) noexcept {
  if (gauge == nullptr)
    return;
  gauge->in_use_.store(false, std::memory_order_release);
  gauge->reset();
  std::lock_guard<std::mutex> guard{mtx_};
  free_.push_back(gauge);
}

gauge_registry::totals gauge_registry::scan(uint32_t cap) const noexcept {
  totals result;
  auto n = chunk_count_.load(std::memory_order_acquire);
  for (size_t c = 0; c < n; ++c) {
    for (const auto& gauge : *chunks_[c]) {
      if (!gauge.in_use_.load(std::memory_order_acquire))
        continue;
      ++result.in_use;
      auto d = gauge.depth();
      result.sum_depth += d;
      result.capped_sum += d < cap ? d : cap;
      if (d > result.max_depth)
        result.max_depth = d;
    }
  }
  return result;
}

} // namespace mcpvisor::supervision
