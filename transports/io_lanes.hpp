#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

/// The I/O threads. Each thread runs an Asio `io_context` of its own (a
/// lane); a connection lives on one lane for its whole life. With the `io`
/// scheduler (app/io_scheduler.hpp) the actors run on the lanes as well, on
/// the lane of the thread that made them ready: a request read on a lane is
/// served by its session actor on that lane and answered there, without
/// waking another thread.
namespace mcpvisor::transports {

class io_lanes {
public:
  /// Starts `n` threads (at least one); `what` names them in logs.
  explicit io_lanes(size_t n, const char* what = "mcp");

  /// Stops and joins the threads; handlers still queued are destroyed.
  ~io_lanes();

  io_lanes(const io_lanes&) = delete;
  io_lanes& operator=(const io_lanes&) = delete;

  size_t size() const noexcept {
    return lanes_.size();
  }

  boost::asio::io_context& lane(size_t i) noexcept {
    return lanes_[i]->ioc;
  }

  /// The lanes in turn (new connections).
  size_t next() noexcept {
    return next_.fetch_add(1, std::memory_order_relaxed) % lanes_.size();
  }

  /// The lane of the calling thread, or the lanes in turn when called from
  /// any other thread (work from outside).
  size_t pick() noexcept;

  /// Index of the lane the calling thread runs, if it is one of these.
  std::optional<size_t> current() const noexcept;

  /// Runs `fn` once on every lane, after what each had queued before, and
  /// returns when all ran it. Never call it from a lane.
  void barrier(const std::function<void()>& fn = {});

  /// Stops and joins the threads (idempotent); nothing runs afterwards.
  void stop();

private:
  struct lane_t {
    boost::asio::io_context ioc{1};
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work;
    std::thread thread;
  };
  std::vector<std::unique_ptr<lane_t>> lanes_;
  std::atomic<size_t> next_{0};
};

} // namespace mcpvisor::transports
