#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace mcpvisor::supervision {

/// The andon cord: one flag that says "take no new work", read by every
/// intake path with a single relaxed load, pulled and released with a
/// reason by an overload monitor or by an operator. Knows nothing of what
/// the work is; the transports decide what refusing means.
///
/// A cord pulled by hand stays pulled until it is released by hand; the
/// monitor only releases what it pulled itself.
class andon_cord {
public:
  struct event {
    std::chrono::system_clock::time_point at;
    bool pulled = false;
    bool manual = false;
    std::string reason;
  };

  /// True while new work is refused.
  bool pulled() const noexcept {
    return pulled_.load(std::memory_order_relaxed);
  }

  /// Pulls the cord; false (and nothing recorded) if it was pulled already,
  /// except that a manual pull turns an automatic one into a manual one.
  bool pull(std::string reason, bool manual);

  /// Releases the cord; false if it was not pulled, or if it was pulled by
  /// hand and this release is not.
  bool release(std::string reason, bool manual);

  /// Why it is pulled now (empty when released), and whether by hand.
  std::string reason() const;
  bool manual() const;

  uint64_t pulls() const noexcept {
    return pulls_.load(std::memory_order_relaxed);
  }

  uint64_t releases() const noexcept {
    return releases_.load(std::memory_order_relaxed);
  }

  /// The most recent pulls and releases, oldest first (at most 64).
  std::vector<event> history() const;

private:
  void record(bool pulled, bool manual, std::string reason);

  std::atomic<bool> pulled_{false};
  std::atomic<uint64_t> pulls_{0};
  std::atomic<uint64_t> releases_{0};
  mutable std::mutex mtx_;
  bool manual_ = false;
  std::string reason_;
  std::deque<event> history_;
};

} // namespace mcpvisor::supervision
