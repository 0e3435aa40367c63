#include "actors/call_link.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace mcpvisor::actors {

void call_link::send(std::string json) {
  if (hold_) {
    held_.push_back(std::move(json));
    return;
  }
  auto e = event::of(event::kind::notify, std::move(json));
  e.id = id_;
  e.source = this;
  caf::anon_send(owner_, event_atom::value, std::move(e));
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
  auto e = event::of(event::kind::close_stream);
  e.id = id_;
  caf::anon_send(owner_, event_atom::value, std::move(e));
}

void call_link::resume(std::shared_ptr<protocol::pending_call> call) {
  auto done = event::of(event::kind::call_done);
  done.call = std::move(call);
  caf::anon_send(owner_, event_atom::value, std::move(done));
}

void call_link::on_cancel(std::function<void()> f) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!cancelled_.load(std::memory_order_acquire)) {
      on_cancel_ = std::move(f);
      return;
    }
  }
  f(); // cancelled already
}

void call_link::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (cancelled_.exchange(true, std::memory_order_acq_rel))
      return;
    hook = std::move(on_cancel_);
  }
  cv_.notify_all();
  if (hook)
    hook();
}

void call_link::release() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    cancelled_.store(true, std::memory_order_release);
    on_cancel_ = nullptr;
  }
  cv_.notify_all();
}

std::vector<std::string> run_inline(protocol::pending_call& call,
                                    const std::shared_ptr<call_link>& link) {
  call.context().set_io(link.get(), link);
  link->hold(true);
  call.run();
  link->hold(false);
  return link->take_held();
}

bool submit_call(worker_pool& workers, call_ptr call,
                 std::shared_ptr<call_link> link, caf::actor owner) {
  auto deadline = call->deadline();
  auto what = call->target();
  call->context().set_io(link.get(), link);
  return workers.submit([call = std::move(call), link = std::move(link),
                         owner = std::move(owner)] {
    std::string crash;
    try {
      call->run();
    } catch (const std::exception& e) {
      crash = e.what();
    } catch (...) {
      crash = "unknown exception";
    }
    auto done = event::of(event::kind::call_done, std::move(crash));
    done.call = call;
    caf::anon_send(owner, event_atom::value, std::move(done));
  }, deadline, std::move(what));
}

} // namespace mcpvisor::actors
