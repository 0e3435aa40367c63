#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

/// Threads that run tool, resource and prompt handlers off the actors'
/// mailboxes, so a handler that blocks or sleeps never holds up a session or
/// a scheduler thread. A bounded queue: when it is full, `submit` refuses
/// and the caller answers with an overload error instead of queueing
/// without limit.
///
/// Every job has a deadline. Its caller answers the client at the deadline
/// (the engine's timeout); a handler that is still running well past it
/// (`grace`) is stuck in something it cannot be woken from, so its thread
/// is abandoned and a fresh one takes its place: a few stuck handlers never
/// starve the others. At most `max_abandoned` threads are abandoned at a
/// time; past that the pool stops replacing them and says so in the log.
namespace mcpvisor::actors {

class worker_pool {
public:
  using clock = std::chrono::steady_clock;

  worker_pool(size_t threads, size_t max_queued,
              std::chrono::milliseconds grace = std::chrono::seconds{5});
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `job`, which should end by `deadline`; `what` names it in the
  /// log if it does not. False if the queue is full or the pool stopping.
  [[nodiscard]] bool submit(std::function<void()> job,
                            clock::time_point deadline = clock::time_point::max(),
                            std::string what = {});

  /// Jobs waiting for a thread.
  size_t queued() const;

  /// Jobs running right now (on abandoned threads too).
  size_t running() const;

  /// Threads abandoned since the start.
  size_t abandoned_total() const;

  /// Stops taking jobs and gives the queued and running ones until `drain`
  /// to finish. True if they all did (every thread is joined); false if
  /// some handlers were still running: their threads are left behind,
  /// detached, and the process must exit without destroying what they use.
  bool stop(std::chrono::milliseconds drain = std::chrono::hours{24});

  struct state;

private:
  std::shared_ptr<state> st_;
};

} // namespace mcpvisor::actors
