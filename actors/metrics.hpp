#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

/// Counters that the transports and the tree bump on their hot paths (one
/// relaxed atomic add each) and that /metrics renders in Prometheus text
/// format. Gauges that are read when asked (sessions, mailbox depths, RSS,
/// the andon cord) are not kept here; see admin.cpp.
namespace mcpvisor::actors {

/// The Prometheus text exposition format, written one family at a time:
/// the one writer of /metrics.
class prometheus_text {
public:
  explicit prometheus_text(std::string& out) : out_(out) {
    // nop
  }

  /// Starts a family with its `# HELP` and `# TYPE` lines.
  void family(std::string_view name, std::string_view type, std::string_view help);

  /// One sample; `labels` is what goes between the braces, already quoted
  /// (`method="ping"`), or empty.
  void sample(std::string_view name, std::string_view labels, uint64_t value);
  void sample(std::string_view name, std::string_view labels, double value);

  /// A family of one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help,
              uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

private:
  void start(std::string_view name, std::string_view labels);

  std::string& out_;
};

class metrics {
public:
  /// Request methods counted by name; any other (or an unreadable one)
  /// counts as "other".
  static constexpr std::array<std::string_view, 16> methods{
    "initialize",          "ping",
    "tools/list",          "tools/call",
    "resources/list",      "resources/templates/list",
    "resources/read",      "resources/subscribe",
    "resources/unsubscribe", "prompts/list",
    "prompts/get",         "completion/complete",
    "logging/setLevel",    "server/discover",
    "subscriptions/listen", "other",
  };

  static size_t method_index(std::string_view method) noexcept;

  /// How a request ended: a JSON-RPC result, a JSON-RPC error, refused
  /// because of overload (503), or rejected by an HTTP rule (4xx).
  enum class outcome : uint8_t { result, error, refused, rejected };
  static constexpr size_t outcomes = 4;

  /// "result", "error", "refused" or "rejected".
  static std::string_view name(outcome o) noexcept;

  /// Upper bounds of the latency histogram, in seconds.
  static constexpr std::array<double, 14> bounds{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,  0.5,   1.0,   5.0};

  /// One request answered after `took` (from its arrival to its answer).
  void request(size_t method, outcome o, std::chrono::nanoseconds took) noexcept;

  /// Where in the tree a restart happened.
  enum class level : uint8_t { session, shard, meta_shard, service };
  static constexpr size_t levels = 4;

  void restarted(level l) noexcept {
    restarts_[static_cast<size_t>(l)].fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t restarts(level l) const noexcept {
    return restarts_[static_cast<size_t>(l)].load(std::memory_order_relaxed);
  }

  uint64_t restarts_total() const noexcept;

  /// Requests answered so far, every method and outcome.
  uint64_t requests_total() const noexcept;

  /// POSTed requests handed to the runtime and not answered yet (open
  /// subscriptions/listen streams excepted; see `flight`).
  std::atomic<int64_t> requests_in_flight{0};
  /// The same with each session counted up to its share: the overload
  /// monitor's measure of queued work.
  std::atomic<int64_t> shared_load{0};
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  /// Connections closed at once: over the limit or while the cord is pulled.
  std::atomic<uint64_t> connections_refused{0};
  /// Tasks run again from their request after the actor running them
  /// crashed.
  std::atomic<uint64_t> tasks_run_again{0};
  /// Stateless requests served again after the actor serving them crashed.
  std::atomic<uint64_t> stateless_run_again{0};

  /// Appends the counters and histograms in Prometheus text format.
  void render(std::string& out) const;

private:
  struct per_method {
    std::array<std::atomic<uint64_t>, outcomes> count{};
    /// Non-cumulative: bucket i counts latencies in (bounds[i-1], bounds[i]];
    /// the last one counts those above every bound.
    std::array<std::atomic<uint64_t>, bounds.size() + 1> bucket{};
    std::atomic<uint64_t> sum_ns{0};
  };

  std::array<per_method, methods.size()> by_method_{};
  std::array<std::atomic<uint64_t>, levels> restarts_{};
};

/// Requests one session has in flight.
using session_load = std::shared_ptr<std::atomic<uint32_t>>;

/// One request in flight, from the moment the transport hands it to the
/// runtime until its exchange ends: counted in `requests_in_flight`, and in
/// `shared_load` while its session has fewer than `share` requests in flight
/// (a session flooded beyond its share waits in its own queue without
/// counting against everyone). Requests without a session count in full.
class flight {
public:
  flight() = default;
  flight(metrics& m, session_load session, uint32_t share);
  ~flight();

  flight(flight&& other) noexcept;
  flight& operator=(flight&& other) noexcept;
  flight(const flight&) = delete;
  flight& operator=(const flight&) = delete;

private:
  void end() noexcept;

  metrics* m_ = nullptr;
  session_load session_;
  uint32_t share_ = 0;
};

} // namespace mcpvisor::actors
