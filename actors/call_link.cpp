#include "actors/call_link.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace mcpvisor::actors {

void call_link::send(std::string json) {
  if (hold_)
    held_.push_back(std::move(json));
  else
    caf::anon_send(owner_, notify_atom::value, id_, std::move(json));
}

bool call_link::cancelled() const noexcept {
  return cancelled_.load(std::memory_order_acquire)
         || (watched_ != nullptr && !watched_->alive());
}

bool call_link::wait(std::chrono::milliseconds d) {
  // A watched channel does not wake us when its client leaves: look at it
  // every 50 ms.
  auto slice = watched_ != nullptr ? std::chrono::milliseconds{50} : d;
  auto deadline = std::chrono::steady_clock::now() + d;
  std::unique_lock<std::mutex> lock{mtx_};
  while (!cancelled()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return true;
    auto step = std::min<std::chrono::steady_clock::duration>(slice, deadline - now);
    cv_.wait_for(lock, step, [this] {
      return cancelled_.load(std::memory_order_acquire);
    });
  }
  return false;
}

void call_link::close_stream() {
  caf::anon_send(owner_, close_stream_atom::value, id_);
}

void call_link::cancel() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    cancelled_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

} // namespace mcpvisor::actors
