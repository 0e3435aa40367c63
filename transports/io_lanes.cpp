#include "transports/io_lanes.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/post.hpp>

#include "transports/listener.hpp"

namespace mcpvisor::transports {

namespace net = boost::asio;

namespace {

/// Which lane set and lane the calling thread runs (none on other threads).
thread_local const io_lanes* this_set = nullptr;
thread_local size_t this_lane = 0;

} // namespace

io_lanes::io_lanes(size_t n, const char* what) {
  n = std::max<size_t>(1, n);
  lanes_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto l = std::make_unique<lane_t>();
    l->work.emplace(l->ioc.get_executor());
    lanes_.push_back(std::move(l));
  }
  for (size_t i = 0; i < n; ++i)
    lanes_[i]->thread = std::thread{[this, i, what] {
      this_set = this;
      this_lane = i;
      run_io(lanes_[i]->ioc, what);
    }};
}

io_lanes::~io_lanes() {
  stop();
  // the io_contexts go in reverse order, destroying what is still queued
  while (!lanes_.empty())
    lanes_.pop_back();
}

size_t io_lanes::pick() noexcept {
  if (auto i = current())
    return *i;
  return next();
}

std::optional<size_t> io_lanes::current() const noexcept {
  if (this_set == this)
    return this_lane;
  return std::nullopt;
}

void io_lanes::barrier(const std::function<void()>& fn) {
  std::vector<std::future<void>> done;
  for (auto& l : lanes_) {
    if (l->ioc.stopped())
      continue;
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    net::post(l->ioc, [p, &fn] {
      if (fn)
        fn();
      p->set_value();
    });
  }
  for (auto& f : done)
    f.wait();
}

void io_lanes::stop() {
  for (auto& l : lanes_) {
    l->work.reset();
    l->ioc.stop();
  }
  for (auto& l : lanes_)
    if (l->thread.joinable())
      l->thread.join();
}

} // namespace mcpvisor::transports
