#include "supervision/andon.hpp"

namespace mcpvisor::supervision {

namespace {

constexpr size_t history_size = 64;

} // namespace

bool andon_cord::pull(std::string reason, bool manual) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (pulled_.load(std::memory_order_relaxed)) {
    if (!manual || manual_)
      return false;
    manual_ = true; // an operator takes over an automatic pull
    reason_ = reason;
    record(true, true, std::move(reason));
    return true;
  }
  manual_ = manual;
  reason_ = reason;
  pulled_.store(true, std::memory_order_relaxed);
  pulls_.fetch_add(1, std::memory_order_relaxed);
  record(true, manual, std::move(reason));
  return true;
}

bool andon_cord::release(std::string reason, bool manual) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!pulled_.load(std::memory_order_relaxed) || (manual_ && !manual))
    return false;
  manual_ = false;
  reason_.clear();
  pulled_.store(false, std::memory_order_relaxed);
  releases_.fetch_add(1, std::memory_order_relaxed);
  record(false, manual, std::move(reason));
  return true;
}

std::string andon_cord::reason() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return reason_;
}

bool andon_cord::manual() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return manual_;
}

std::vector<andon_cord::event> andon_cord::history() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {history_.begin(), history_.end()};
}

void andon_cord::record(bool pulled, bool manual, std::string reason) {
  history_.push_back(event{std::chrono::system_clock::now(), pulled, manual,
                           std::move(reason)});
  if (history_.size() > history_size)
    history_.pop_front();
}

} // namespace mcpvisor::supervision
