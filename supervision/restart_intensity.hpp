#pragma once

#include <chrono>
#include <deque>

namespace mcpvisor::supervision {

/// OTP's restart intensity: at most `max_restarts` restarts within any window
/// of `period`. A restart is counted before it is attempted; the one that
/// makes the count exceed `max_restarts` is refused and the supervisor gives
/// up.
class restart_intensity {
public:
  using clock = std::chrono::steady_clock;

  restart_intensity(int max_restarts, std::chrono::milliseconds period)
    : max_restarts_(max_restarts), period_(period) {
    // nop
  }

  /// Records a restart at `now`. Returns false if it exceeds the intensity.
  [[nodiscard]] bool add(clock::time_point now);

  /// Restarts still inside the window, oldest first.
  const std::deque<clock::time_point>& recent() const noexcept {
    return recent_;
  }

  int max_restarts() const noexcept {
    return max_restarts_;
  }

  std::chrono::milliseconds period() const noexcept {
    return period_;
  }

private:
  int max_restarts_;
  std::chrono::milliseconds period_;
  std::deque<clock::time_point> recent_;
};

} // namespace mcpvisor::supervision
