#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

/// The systemd side of a service (sd_notify, libsystemd): readiness,
/// status, reloading and stopping, and the watchdog, fed only while the
/// node answers a health probe. Under anything but systemd (no
/// NOTIFY_SOCKET) every call does nothing.
namespace mcpvisor::app {

class service_notifier {
public:
  /// Asks the node whether it is healthy and calls the callback with the
  /// answer, from any thread; a node that does not answer is not healthy.
  using probe = std::function<void(std::function<void(bool)>)>;

  explicit service_notifier(probe health);
  ~service_notifier();

  service_notifier(const service_notifier&) = delete;
  service_notifier& operator=(const service_notifier&) = delete;

  /// READY=1 with a status line; starts the watchdog if systemd asked for
  /// one (WatchdogSec, WATCHDOG_USEC).
  void ready(std::string_view status);

  /// RELOADING=1 (SIGHUP), then `ready` again.
  void reloading();

  /// STOPPING=1; the watchdog stops.
  void stopping();

private:
  void watch(std::chrono::microseconds period);

  probe health_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

} // namespace mcpvisor::app
