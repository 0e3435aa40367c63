// The systemd side of the service (app/service.cpp), as systemd sees it:
// the real binary started with NOTIFY_SOCKET naming a datagram socket this
// test reads, and WATCHDOG_USEC set as `WatchdogSec=` sets it. READY=1 once
// it serves, WATCHDOG=1 while its supervision tree answers and none while
// the tree is stalled, STOPPING=1 on SIGTERM.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// A datagram socket at a fresh path, as systemd's notification socket.
struct notify_socket {
  notify_socket() {
    path = "/tmp/mcpvisor-notify-" + std::to_string(getpid()) + ".sock";
    ::unlink(path.c_str());
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~notify_socket() {
    ::close(fd);
    ::unlink(path.c_str());
  }

  struct datagram {
    clock_type::time_point at;
    std::string text;
  };

  /// Datagrams received within `span`.
  std::vector<datagram> read_for(std::chrono::milliseconds span) {
    std::vector<datagram> out;
    auto end = clock_type::now() + span;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now());
      if (left.count() <= 0)
        return out;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0)
        out.push_back({clock_type::now(), std::string{buf, static_cast<size_t>(n)}});
    }
  }

  std::string path;
  int fd = -1;
};

size_t count(const std::vector<notify_socket::datagram>& got, const std::string& what) {
  size_t n = 0;
  for (auto& d : got)
    n += d.text.find(what) != std::string::npos ? 1 : 0;
  return n;
}

/// The longest time between two WATCHDOG=1 (or from `from` to the first).
std::chrono::milliseconds longest_gap(const std::vector<notify_socket::datagram>& got,
                                      clock_type::time_point from) {
  auto last = from;
  std::chrono::milliseconds gap{0};
  for (auto& d : got)
    if (d.text == "WATCHDOG=1") {
      gap = std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(d.at - last));
      last = d.at;
    }
  return gap;
}

} // namespace

TEST_CASE("systemd: ready once serving, the watchdog fed while the tree answers, "
          "stopping on SIGTERM") {
  notify_socket sock;
  ::setenv("NOTIFY_SOCKET", sock.path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1); // WatchdogSec=400ms
  server_fixture s{{"--scheduler-threads", "1"}, "drill"};
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  auto first = sock.read_for(1500ms);
  REQUIRE_FALSE(first.empty());
  CHECK(first.front().text.rfind("READY=1\nSTATUS=serving http://127.0.0.1:", 0) == 0);
  // a ping every 100 ms or so while healthy
  CHECK(count(first, "WATCHDOG=1") >= 5);
  CHECK(longest_gap(first, first.front().at) < 400ms);
  // a handler blocks the only scheduler thread for 1.5 s: the tree does not
  // answer, and systemd would see the watchdog expire
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  http_client staller{s.port};
  auto stalled_at = clock_type::now();
  REQUIRE(staller.send_raw(http_client::post(
    R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stall","arguments":{"ms":1500}}})",
    s.session_headers(sid))));
  auto during = sock.read_for(2500ms);
  CHECK(longest_gap(during, stalled_at) >= 1000ms);
  auto answer = staller.read_response(5s);
  REQUIRE(answer);
  CHECK(answer->body.find("went on") != std::string::npos);
  // and it is fed again once the tree answers
  auto after = sock.read_for(1000ms);
  CHECK(count(after, "WATCHDOG=1") >= 3);
  s.proc->signal(SIGTERM);
  auto last = sock.read_for(1000ms);
  CHECK(count(last, "STOPPING=1") == 1);
  CHECK(s.proc->wait_exit(10s) == 0);
  s.exited = true;
}
