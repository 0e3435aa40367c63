#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "actors/channel.hpp"
#include "actors/worker_pool.hpp"
#include "protocol/call_context.hpp"
#include "protocol/engine.hpp"

namespace mcpvisor::actors {

/// The runtime's side of one running call (protocol::call_io): its
/// notifications go to the owning actor, which routes them to the request's
/// stream; cancellation wakes a handler that sleeps. For stateless HTTP
/// requests a client that closed the response stream cancels the call.
class call_link : public protocol::call_io {
public:
  call_link(caf::actor owner, protocol::request_id id, channel_ptr watched)
    : owner_(std::move(owner)), id_(std::move(id)), watched_(std::move(watched)) {
    // nop
  }

  void send(std::string json) override;
  bool cancelled() const noexcept override;
  bool wait(std::chrono::milliseconds d) override;
  void close_stream() override;
  void resume(std::shared_ptr<protocol::pending_call> call) override;
  void on_cancel(std::function<void()> f) override;

  /// Cancels the call: `cancelled()` turns true, a waiting handler wakes,
  /// and a deferred handler's cancel hook runs.
  void cancel();

  /// The call is over (its last round answered): like `cancel`, but the
  /// cancel hook is dropped, not run. A 2026-07-28 round that ended
  /// asking the client for input leaves the work it deferred running.
  void release();

  /// While held (an inline run on the owner's own thread), notifications
  /// are kept and handed back by `take_held`, so they go out before the
  /// answer instead of after it.
  void hold(bool on) noexcept {
    hold_ = on;
  }

  std::vector<std::string> take_held() {
    return std::move(held_);
  }

private:
  caf::actor owner_;
  protocol::request_id id_;
  channel_ptr watched_;
  std::atomic<bool> cancelled_{false};
  bool hold_ = false;
  std::vector<std::string> held_;
  std::function<void()> on_cancel_;
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// Runs a handler round of `call` on the calling actor's thread (an inline
/// handler); its notifications are held and returned, to go out before the
/// answer. An exception escapes to the caller: it crashes that actor. A
/// round the handler deferred ends later with a call_done event, as a
/// worker's does.
std::vector<std::string> run_inline(protocol::pending_call& call,
                                    const std::shared_ptr<call_link>& link);

/// What a call is told when no worker can take it.
constexpr std::string_view no_worker_text
  = "the server is overloaded: no handler thread is free, retry later";

/// Runs a call's handler on a worker thread; its owner then gets an event
/// of kind call_done (with the text of an exception that escaped the
/// handler, if any). False if the pool refused it (full or stopping).
bool submit_call(worker_pool& workers,
                 std::shared_ptr<protocol::pending_call> call,
                 std::shared_ptr<call_link> link, caf::actor owner);

} // namespace mcpvisor::actors
