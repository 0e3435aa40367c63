#include "app/io_scheduler.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include <caf/actor_system.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "transports/io_lanes.hpp"

namespace mcpvisor::app {

namespace {

/// CAF's coordinator interface over the lanes: `enqueue` and an execution
/// unit's `exec_later` post the actor onto a lane, where it is resumed for
/// up to the configured throughput, as a CAF worker would.
class io_scheduler final : public caf::scheduler::abstract_coordinator {
public:
  io_scheduler(caf::actor_system& sys, transports::io_lanes& lanes)
    : abstract_coordinator(sys), lanes_(lanes) {
    for (size_t i = 0; i < lanes.size(); ++i)
      units_.push_back(std::make_unique<unit>(*this, i));
  }

  void init(caf::actor_system_config& cfg) override {
    abstract_coordinator::init(cfg);
    num_workers_ = lanes_.size();
  }

  void enqueue(caf::resumable* job) override {
    post(lanes_.pick(), job);
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return clock_;
  }

protected:
  void start() override {
    // delayed messages and timeouts, as in CAF's own coordinator
    timer_ = std::thread{[this] {
      caf::detail::set_thread_name("caf.clock");
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    }};
    abstract_coordinator::start();
  }

  void stop() override {
    stop_actors();
    // every actor is gone: what is still queued only lets go of them; and
    // the lanes let go of CAF's logger (spawning on a thread holds it,
    // and the actor system waits for it to go)
    lanes_.barrier([] { caf::logger::set_current_actor_system(nullptr); });
    stopped_.store(true);
    clock_.cancel_dispatch_loop();
    timer_.join();
  }

private:
  struct unit final : caf::execution_unit {
    unit(io_scheduler& s, size_t i) : caf::execution_unit(&s.system()), sched(s), lane(i) {
      // nop
    }

    void exec_later(caf::resumable* job) override {
      sched.post(lane, job);
    }

    io_scheduler& sched;
    size_t lane;
  };

  void post(size_t lane, caf::resumable* job) {
    if (stopped_.load(std::memory_order_relaxed)) {
      cleanup_and_release(job);
      return;
    }
    // the queued job owns the reference it was enqueued with (released if
    // the lane drops it unrun)
    boost::asio::post(lanes_.lane(lane),
                      [this, lane, ref = caf::intrusive_ptr<caf::resumable>{job, false}]() mutable {
                        run(lane, ref.detach());
                      });
  }

  void run(size_t lane, caf::resumable* job) {
    switch (job->resume(units_[lane].get(), max_throughput_)) {
      case caf::resumable::resume_later:
        // behind the I/O that waited meanwhile
        post(lane, job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        intrusive_ptr_release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        break;
    }
  }

  transports::io_lanes& lanes_;
  std::vector<std::unique_ptr<unit>> units_;
  caf::detail::thread_safe_actor_clock clock_;
  std::thread timer_;
  std::atomic<bool> stopped_{false};
};

} // namespace

void run_actors_on(transports::io_lanes& lanes, caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(
    [&lanes](caf::actor_system& sys) -> caf::actor_system::module* {
      return new io_scheduler(sys, lanes);
    });
}

} // namespace mcpvisor::app
