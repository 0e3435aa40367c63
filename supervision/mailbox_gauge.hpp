#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace mcpvisor::supervision {

/// An actor's mailbox depth, published by the actor itself and readable from
/// any thread with a relaxed load. The actor calls `publish` with
/// `mailbox().size()` (about 1 ns) from its handlers; readers see the depth as
/// of the actor's last message and the highest depth ever published.
class mailbox_gauge {
public:
  /// Stores the current depth and raises the peak if needed.
  void publish(size_t depth) noexcept {
    auto d = static_cast<uint32_t>(depth > UINT32_MAX ? UINT32_MAX : depth);
    depth_.store(d, std::memory_order_relaxed);
    if (d > peak_.load(std::memory_order_relaxed))
      peak_.store(d, std::memory_order_relaxed);
  }

  /// Last published depth.
  uint32_t depth() const noexcept {
    return depth_.load(std::memory_order_relaxed);
  }

  /// Highest published depth since the gauge was handed out.
  uint32_t peak() const noexcept {
    return peak_.load(std::memory_order_relaxed);
  }

  /// Clears both values (when a slot is reused for a new actor).
  void reset() noexcept {
    depth_.store(0, std::memory_order_relaxed);
    peak_.store(0, std::memory_order_relaxed);
  }

private:
  friend class gauge_registry;
  std::atomic<uint32_t> depth_{0};
  std::atomic<uint32_t> peak_{0};
  std::atomic<bool> in_use_{false};
};

/// Hands out gauges from fixed-size chunks that are never freed while the
/// registry lives, so a reader thread can scan every gauge without taking a
/// lock. Acquire and release take a mutex; they happen once per actor start
/// and stop, never per message.
class gauge_registry {
public:
  static constexpr size_t chunk_size = 4096;

  gauge_registry() = default;
  gauge_registry(const gauge_registry&) = delete;
  gauge_registry& operator=(const gauge_registry&) = delete;

  /// Returns a zeroed gauge that stays valid until `release`.
  mailbox_gauge* acquire();

  /// Gives a gauge back; it may be handed out again.
  void release(mailbox_gauge* gauge) noexcept;

  /// Summary over every gauge in use, read without locking.
  struct totals {
    size_t in_use = 0;
    uint64_t sum_depth = 0;
    uint32_t max_depth = 0;
    /// Sum with each depth counted up to the cap given to `scan`: one
    /// flooded actor cannot dominate it.
    uint64_t capped_sum = 0;
  };

  /// Scans all gauges in use. Lock-free with respect to acquire/release.
  totals scan(uint32_t cap = UINT32_MAX) const noexcept;

private:
  using chunk = std::array<mailbox_gauge, chunk_size>;
  static constexpr size_t max_chunks = 1024; // 4M gauges

  std::mutex mtx_;
  std::vector<mailbox_gauge*> free_;
  std::array<std::unique_ptr<chunk>, max_chunks> chunks_;
  std::atomic<size_t> chunk_count_{0};
};

} // namespace mcpvisor::supervision
