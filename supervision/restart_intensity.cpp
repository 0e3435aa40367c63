#include "supervision/restart_intensity.hpp"

namespace mcpvisor::supervision {

bool restart_intensity::add(clock::time_point now) {
  // Same window as OTP's supervisor: a restart stays counted while
  // now - then <= period.
  while (!recent_.empty() && now - recent_.front() > period_)
    recent_.pop_front();
  recent_.push_back(now);
  return static_cast<int>(recent_.size()) <= max_restarts_;
}

} // namespace mcpvisor::supervision
