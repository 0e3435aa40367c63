#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

/// Threads that run tool, resource and prompt handlers off the actors'
/// mailboxes, so a handler that blocks or sleeps never holds up a session or
/// a scheduler thread. A bounded queue: when it is full, `submit` refuses
/// and the caller answers with an overload error instead of queueing
/// without limit.
namespace mcpvisor::actors {

class worker_pool {
public:
  worker_pool(size_t threads, size_t max_queued);
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `job`; false if the queue is full or the pool is stopping.
  [[nodiscard]] bool submit(std::function<void()> job);

  /// Jobs waiting for a thread.
  size_t queued() const;

  /// Jobs running right now.
  size_t running() const;

  /// Stops taking jobs, finishes the queued ones and joins the threads.
  void stop();

private:
  void loop();

  size_t max_queued_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace mcpvisor::actors
