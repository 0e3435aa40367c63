#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

/// Samples a process's resident memory until stopped; keeps the peak.
class rss_watch {
public:
  explicit rss_watch(pid_t pid) : pid_(pid), thread_([this] { run(); }) {
    // nop
  }

  ~rss_watch() {
    stop();
  }

  long stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
    return peak_kb_;
  }

private:
  void run() {
    while (!done_) {
      std::ifstream f{"/proc/" + std::to_string(pid_) + "/status"};
      std::string line;
      while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0)
          peak_kb_ = std::max(peak_kb_, std::stol(line.substr(6)));
      std::this_thread::sleep_for(20ms);
    }
  }

  pid_t pid_;
  std::atomic<bool> done_{false};
  long peak_kb_ = 0;
  std::thread thread_;
};

/// Runs mcpvisor-load against the server and returns its JSON report.
load_run flood(int port, std::vector<std::string> args) {
  std::vector<std::string> argv{"--url",
                                "http://127.0.0.1:" + std::to_string(port) + "/mcp",
                                "--warmup", "0", "--timeout", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_load(argv, 120s);
}

/// The server with its admin endpoint and a low high-water mark, so that a
/// flood from one test machine is far beyond it.
struct overload_fixture {
  overload_fixture()
    : admin_port(free_port()),
      s({"--admin", "127.0.0.1:" + std::to_string(admin_port),
         "--andon-queue-high", "300", "--andon-queue-low", "50",
         "--andon-interval-ms", "50"},
        "drill") {
    // nop
  }

  std::optional<http_response> admin(const std::string& path) {
    http_client c{admin_port};
    if (!c.send_raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
      return std::nullopt;
    return c.read_response();
  }

  double metric(const std::string& name) {
    return admin_metric(admin_port, name);
  }

  int admin_port;
  server_fixture s;
};

} // namespace

TEST_SUITE("overload") {

TEST_CASE("a flood far beyond capacity pulls the cord: refusals are fast, "
          "nothing accepted is lost, memory stays bounded, and service "
          "resumes within a second") {
  overload_fixture f;
  rss_watch rss{f.s.proc->pid()};
  // 1,500 connections, each with its own session, calling as fast as they
  // are answered and retrying at once when refused
  auto r = flood(f.s.port, {"--concurrency", "1500", "--duration", "4"});
  auto peak_kb = rss.stop();
  INFO(r.report);
  CHECK(r.status == 0);
  CHECK(report_field(r.report, "errors") == "none"); // no lost, wrong or hung call
  CHECK(report_number(r.report, "calls_ok") > 1000);
  CHECK(report_number(r.report, "refused_503") > 0);
  // refusals wait for nothing but the I/O thread: faster than the calls
  // that were accepted and queued
  CHECK(report_number(r.report, "refused_p50_us") < report_number(r.report, "p50_us"));
  CHECK(f.metric("mcpvisor_andon_pulls_total") >= 1);
  // the bound stated in docs/operations.md for this flood
  CHECK(peak_kb < 256 * 1024);
  // the flood is over: ready again and serving within a second
  auto stopped = std::chrono::steady_clock::now();
  bool back = false;
  while (!back && std::chrono::steady_clock::now() - stopped < 5s) {
    auto ready = f.admin("/readyz");
    back = ready && ready->status == 200 && f.s.healthy();
    if (!back)
      std::this_thread::sleep_for(10ms);
  }
  auto took = std::chrono::steady_clock::now() - stopped;
  CHECK(back);
  CHECK(took < 1s);
  CHECK(f.metric("mcpvisor_andon_pulled") == 0);
  CHECK(f.metric("mcpvisor_requests_in_flight") == 0);
}

TEST_CASE("one flooded session is slowed by its own queue and does not pull "
          "the cord for everyone") {
  overload_fixture f;
  auto r = flood(f.s.port, {"--concurrency", "400", "--one-session", "--duration", "2"});
  INFO(r.report);
  CHECK(r.status == 0);
  CHECK(report_field(r.report, "errors") == "none");
  CHECK(report_number(r.report, "refused_503") == 0);
  CHECK(f.metric("mcpvisor_andon_pulls_total") == 0);
}

} // TEST_SUITE
