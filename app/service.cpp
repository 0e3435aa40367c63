#include "app/service.hpp"

#include <memory>
#include <string>

#include <systemd/sd-daemon.h>

#include "actors/log.hpp"

namespace mcpvisor::app {

service_notifier::service_notifier(probe health) : health_(std::move(health)) {
  // nop
}

service_notifier::~service_notifier() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable())
    watchdog_.join();
}

void service_notifier::ready(std::string_view status) {
  std::string msg = "READY=1\nSTATUS=";
  msg += status;
  sd_notify(0, msg.c_str());
  uint64_t usec = 0;
  if (!watchdog_.joinable() && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    // pinged at a quarter of the period, so that one slow probe is not a
    // missed deadline
    auto period = std::chrono::microseconds{usec / 4};
    log::info("systemd watchdog on", {{"period_ms", std::to_string(usec / 1000)}});
    watchdog_ = std::thread{[this, period] { watch(period); }};
  }
}

void service_notifier::reloading() {
  sd_notify(0, "RELOADING=1");
}

void service_notifier::stopping() {
  sd_notify(0, "STOPPING=1");
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
}

void service_notifier::watch(std::chrono::microseconds period) {
  // the probe answers on another thread, maybe never: its answer is
  // shared, and only a healthy answer within the period feeds the watchdog
  struct answer {
    std::mutex mtx;
    std::condition_variable cv;
    bool done = false;
    bool healthy = false;
  };
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stop_) {
    lock.unlock();
    auto a = std::make_shared<answer>();
    health_([a](bool healthy) {
      std::lock_guard<std::mutex> guard{a->mtx};
      a->done = true;
      a->healthy = healthy;
      a->cv.notify_all();
    });
    bool healthy = false;
    {
      std::unique_lock<std::mutex> wait{a->mtx};
      a->cv.wait_for(wait, period, [&] { return a->done; });
      healthy = a->done && a->healthy;
    }
    lock.lock();
    if (stop_)
      break;
    if (healthy)
      sd_notify(0, "WATCHDOG=1");
    cv_.wait_for(lock, period, [this] { return stop_; });
  }
}

} // namespace mcpvisor::app
