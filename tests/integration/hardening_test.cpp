// Hostile input against the real binary: each case here once aborted the
// process, smuggled a request, kept memory it had not counted, hung a
// worker or a client, or closed a connection without an answer (issue 11).
// Every test sends the same bytes that found the defect.

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const std::string ping = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";

const std::string mcp_head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\n"
                             "Accept: application/json, text/event-stream\r\n";

std::string hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%zx", n);
  return buf;
}

/// A chunked POST of `body` whose trailer section is `trailer`.
std::string chunked(const std::string& head, const std::string& body,
                    const std::string& trailer) {
  return head + "Transfer-Encoding: chunked\r\n\r\n" + hex(body.size()) + "\r\n"
         + body + "\r\n0\r\n" + trailer + "\r\n";
}

/// Resident memory of process `pid` in KiB (0 if unknown).
long rss_kib(pid_t pid) {
  std::ifstream f{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

/// CPU time (user + system) of process `pid` in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream f{"/proc/" + std::to_string(pid) + "/stat"};
  std::string all((std::istreambuf_iterator<char>(f)), {});
  auto after = all.substr(all.rfind(')') + 2);
  std::istringstream in{after};
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; in >> field; ++i) {
    if (i == 14)
      utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

/// A refusal: the status, a JSON body, and the connection closed after it.
void check_refused(http_client& c, int status) {
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == status);
  CHECK(has(r->header("content-type"), "application/json"));
  CHECK(has(r->body, "\"error\""));
  CHECK(c.closed_by_peer(3s));
}

std::string call(int id, const std::string& tool, const std::string& args = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":{"name":")" + tool
         + R"(","arguments":)" + args + "}}";
}

std::string read_uri(int id, const std::string& uri) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"resources/read","params":{"uri":")" + uri + "\"}}";
}

/// A directory of files for --files-root, removed at the end.
struct files_root {
  files_root() {
    char tmpl[] = "/tmp/mcpvisor-files-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~files_root() {
    std::system(("rm -rf " + dir).c_str());
  }
  std::string path(const std::string& name) const {
    return dir + "/" + name;
  }
  void write(const std::string& name, const std::string& data) const {
    std::ofstream{path(name), std::ios::binary} << data;
  }
  std::string dir;
};

} // namespace

TEST_SUITE("hardening") {

TEST_CASE("a 64 KiB header field is refused with 431 on both listeners and "
          "the node lives") {
  int admin = free_port();
  server_fixture s{{"--admin", "127.0.0.1:" + std::to_string(admin),
                    "--admin-token", "secret"}};
  std::string big(65535, 'a');
  {
    http_client c{s.port};
    REQUIRE(c.send_raw(chunked(mcp_head, ping, "X-Big: " + big + "\r\n")));
    check_refused(c, 431);
  }
  {
    // the token is checked after parsing: none is needed to reach this
    http_client c{admin};
    REQUIRE(c.send_raw(chunked("POST /admin/chaos HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                               "{}", "X-Big: " + big + "\r\n")));
    check_refused(c, 431);
  }
  {
    http_client c{s.port};
    REQUIRE(c.send_raw(mcp_head + "X-Big: " + big + "\r\nContent-Length: "
                       + std::to_string(ping.size()) + "\r\n\r\n" + ping));
    check_refused(c, 431);
  }
  CHECK(s.healthy());
}

TEST_CASE("a 70,000-byte header with --max-header-bytes 200000 is refused") {
  server_fixture s{{"--max-header-bytes", "200000"}};
  http_client c{s.port};
  REQUIRE(c.send_raw(mcp_head + "X-Big: " + std::string(70000, 'a')
                     + "\r\nContent-Length: " + std::to_string(ping.size())
                     + "\r\n\r\n" + ping));
  check_refused(c, 431);
  CHECK(s.healthy());
}

TEST_CASE("transfer codings other than chunked alone are refused, never "
          "served or read as a second request") {
  server_fixture s;
  auto sid = s.initialize();
  auto head = mcp_head + server_fixture::session_headers(sid);
  for (std::string te : {"gzip", "identity", "xchunked", "chunked, identity",
                         "gzip, chunked", "chunked\r\nTransfer-Encoding: chunked"}) {
    CAPTURE(te);
    http_client c{s.port};
    REQUIRE(c.send_raw(head + "Transfer-Encoding: " + te + "\r\nContent-Length: "
                       + std::to_string(ping.size()) + "\r\n\r\n" + ping));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK((r->status == 400 || r->status == 501));
    CHECK(c.closed_by_peer(3s));
  }
  // without Content-Length the body is a complete second request: it must
  // not be executed
  http_client c{s.port};
  auto inner = head + "Content-Length: " + std::to_string(ping.size()) + "\r\n\r\n" + ping;
  REQUIRE(c.send_raw(head + "Transfer-Encoding: gzip\r\n\r\n" + inner));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 501);
  CHECK_FALSE(c.read_response(1s));
  // chunked and Content-Length together are ambiguous too
  http_client both{s.port};
  REQUIRE(both.send_raw(chunked(head + "Content-Length: 5\r\n", ping, "")));
  check_refused(both, 400);
}

TEST_CASE("duplicate Host or Mcp-Session-Id headers are refused") {
  server_fixture s;
  auto sid = s.initialize();
  auto body = "Content-Length: " + std::to_string(ping.size()) + "\r\n\r\n" + ping;
  http_client hosts{s.port};
  REQUIRE(hosts.send_raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.com\r\n"
                         "Content-Type: application/json\r\n"
                         "Accept: application/json, text/event-stream\r\n"
                         + server_fixture::session_headers(sid) + body));
  check_refused(hosts, 400);
  http_client sids{s.port};
  REQUIRE(sids.send_raw(mcp_head + server_fixture::session_headers(sid)
                        + "Mcp-Session-Id: AAAAAAAAAAAAAAAAAAAAAA\r\n" + body));
  check_refused(sids, 400);
  http_client none{s.port};
  REQUIRE(none.send_raw("POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n" + body));
  check_refused(none, 400);
}

TEST_CASE("chunk extensions and trailers are counted before they are kept") {
  server_fixture s;
  auto before = rss_kib(s.proc->pid());
  for (int kind = 0; kind < 2; ++kind) {
    CAPTURE(kind);
    http_client c{s.port};
    REQUIRE(c.send_raw(mcp_head + "Transfer-Encoding: chunked\r\n\r\n"));
    REQUIRE(c.send_raw(kind == 0 ? "2;" : "2\r\n{}\r\n0\r\n"));
    std::string piece;
    if (kind == 0)
      piece.assign(64 * 1024, 'a'); // one size line of endless extensions
    else
      for (int i = 0; i < 8192; ++i)
        piece += "X-A: b\r\n"; // a trailer section of small fields
    // the server must stop taking bytes long before 128 MiB
    size_t sent = 0;
    while (sent < (128u << 20) && c.send_within(piece, 5s))
      sent += piece.size();
    CHECK(sent < (16u << 20));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  if (!sanitized_build)
    CHECK(rss_kib(s.proc->pid()) - before < 32 * 1024);
  CHECK(s.healthy());
}

TEST_CASE("answers over 8 MiB are served whole; above --max-result-bytes "
          "they are a clear error") {
  files_root root;
  std::string binary(7 * 1024 * 1024, '\0');
  for (size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>((i * 2654435761u) >> 13);
  root.write("big.bin", binary);
  root.write("quotes.txt", std::string(5 * 1024 * 1024, '"'));
  {
    server_fixture s{{"--files-root", root.dir}, "default"};
    auto sid = s.initialize();
    auto bin = s.request(http_client::post(read_uri(2, "file://" + root.path("big.bin")),
                                           s.session_headers(sid)));
    REQUIRE(bin);
    CHECK(bin->status == 200);
    CHECK(bin->body.size() > 9 * 1024 * 1024);
    CHECK(has(bin->body, "\"blob\""));
    auto quotes = s.request(http_client::post(read_uri(3, "file://" + root.path("quotes.txt")),
                                              s.session_headers(sid)));
    REQUIRE(quotes);
    CHECK(quotes->status == 200);
    CHECK(quotes->body.size() > 10 * 1024 * 1024);
  }
  server_fixture s{{"--files-root", root.dir, "--max-result-bytes", "50000"},
                   "default"};
  auto sid = s.initialize();
  auto r = s.request(http_client::post(read_uri(2, "file://" + root.path("big.bin")),
                                       s.session_headers(sid)));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(has(r->body, "\"error\""));
  CHECK(has(r->body, "the resource is too large to send"));
  auto echo = s.request(http_client::post(
    call(3, "echo", R"({"text":")" + std::string(60000, 'x') + "\"}"),
    s.session_headers(sid)));
  REQUIRE(echo);
  CHECK(has(echo->body, "the result is too large to send"));
}

TEST_CASE("a FIFO under --files-root is not a resource and blocks nothing") {
  files_root root;
  REQUIRE(::mkfifo(root.path("fifo").c_str(), 0600) == 0);
  server_fixture s{{"--files-root", root.dir, "--workers", "2"}, "default"};
  auto sid = s.initialize();
  for (int i = 0; i < 2; ++i) {
    auto r = s.request(http_client::post(read_uri(10 + i, "file://" + root.path("fifo")),
                                         s.session_headers(sid)));
    REQUIRE(r);
    CHECK(has(r->body, "-32002"));
  }
  auto after = s.request(http_client::post(call(20, "add", R"({"a":1,"b":2})"),
                                           s.session_headers(sid)));
  REQUIRE(after);
  CHECK(has(after->body, "\"result\""));
}

TEST_CASE("a stuck handler is answered at its deadline, its thread replaced, "
          "and shutdown ends within the drain time") {
  server_fixture s{{"--workers", "1", "--drain-timeout", "2"}, "drill"};
  auto sid = s.initialize();
  auto stuck = s.request(http_client::post(call(2, "hang", R"({"ms":30000})"),
                                           s.session_headers(sid)));
  REQUIRE(stuck);
  CHECK(has(stuck->body, "timed out"));
  // the only worker is stuck for 30 s: the next call is served by its
  // replacement, not after it
  http_client next{s.port};
  REQUIRE(next.send_raw(http_client::post(call(3, "sleep", R"({"ms":0})"),
                                          s.session_headers(sid))));
  auto served = next.read_response(15s);
  REQUIRE(served);
  CHECK(has(served->body, "slept"));
  CHECK(s.proc->wait_stderr("abandoned and replaced", 1s));
  // a handler still stuck at shutdown does not hold the process
  s.request(http_client::post(call(4, "hang", R"({"ms":60000})"), s.session_headers(sid)));
  s.proc->signal(SIGTERM);
  auto status = s.proc->wait_exit(8s);
  REQUIRE(status);
  CHECK(*status == 3);
  s.exited = true;
}

TEST_CASE("resources/subscribe refuses URIs outside the root and files that "
          "do not exist") {
  files_root root;
  root.write("a.txt", "hello");
  server_fixture s{{"--files-root", root.dir}, "default"};
  auto sid = s.initialize();
  auto subscribe = [&](int id, const std::string& uri) {
    auto r = s.request(http_client::post(
      R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
        + R"(,"method":"resources/subscribe","params":{"uri":")" + uri + "\"}}",
      s.session_headers(sid)));
    REQUIRE(r);
    return r->body;
  };
  CHECK(has(subscribe(2, "file:///etc/passwd"), "-32002"));
  CHECK(has(subscribe(3, "file://" + root.path("../../etc/passwd")), "-32002"));
  CHECK(has(subscribe(4, "file://" + root.path("missing.txt")), "-32002"));
  CHECK(has(subscribe(5, "file://" + root.path("a.txt")), "\"result\":{}"));
}

TEST_CASE("out of descriptors, a pending admin connection does not spin a "
          "core") {
  int admin = free_port();
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = 96;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::unique_ptr<server_fixture> s;
  try {
    s = std::make_unique<server_fixture>(
      std::vector<std::string>{"--admin", "127.0.0.1:" + std::to_string(admin)});
  } catch (...) {
    ::setrlimit(RLIMIT_NOFILE, &old);
    throw;
  }
  ::setrlimit(RLIMIT_NOFILE, &old);
  std::vector<std::unique_ptr<http_client>> hold;
  for (int i = 0; i < 120; ++i)
    hold.push_back(std::make_unique<http_client>(s->port));
  std::this_thread::sleep_for(300ms);
  std::vector<std::unique_ptr<http_client>> pending;
  for (int i = 0; i < 4; ++i)
    pending.push_back(std::make_unique<http_client>(admin));
  auto start = cpu_ticks(s->proc->pid());
  std::this_thread::sleep_for(2s);
  auto used = cpu_ticks(s->proc->pid()) - start;
  // a spinning accept loop burns the whole 2 s (200 ticks)
  CHECK(used < 100);
  hold.clear();
  pending.clear();
  std::this_thread::sleep_for(200ms);
  CHECK(s->healthy());
}

TEST_CASE("the admin endpoint answers a malformed request with 400 JSON") {
  int admin = free_port();
  server_fixture s{{"--admin", "127.0.0.1:" + std::to_string(admin)}};
  http_client c{admin};
  REQUIRE(c.send_raw("GARBAGE\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(has(r->header("content-type"), "application/json"));
  CHECK(has(r->body, "\"error\""));
}

TEST_CASE("a session that wakes from its checkpoint is not reported as "
          "restarted") {
  server_fixture s{{"--sleep-after", "1"}};
  auto sid = s.initialize();
  std::this_thread::sleep_for(2500ms);
  auto r = s.request(http_client::post(ping, s.session_headers(sid)));
  REQUIRE(r);
  CHECK(has(r->body, "\"result\":{}"));
  CHECK_FALSE(has(s.proc->stderr_text(), "session restarted"));
}

TEST_CASE("when the root supervisor gives up, a call in flight gets an "
          "answer") {
  int admin = free_port();
  server_fixture s{{"--admin", "127.0.0.1:" + std::to_string(admin),
                    "--root-intensity", "0", "--meta-shards", "1", "--shards", "1"},
                   "drill"};
  auto sid = s.initialize();
  http_client waiting{s.port};
  REQUIRE(waiting.send_raw(http_client::post(call(2, "sleep", R"({"ms":20000})"),
                                             s.session_headers(sid))));
  std::this_thread::sleep_for(300ms);
  http_client a{admin};
  std::string order = R"({"target":"meta_shard","meta":0})";
  REQUIRE(a.send_raw("POST /admin/chaos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                     + std::to_string(order.size()) + "\r\n\r\n" + order));
  auto r = waiting.read_response(10s);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(has(r->body, "\"id\":2"));
  auto status = s.proc->wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 1);
  s.exited = true;
}

TEST_CASE("stdio with a client that never reads stdout stays bounded") {
  process p{{mcpvisor_binary(), "--stdio", "--tools", "default"}};
  REQUIRE(p.write_stdin(
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
    "\n"));
  REQUIRE(p.read_stdout_line(5s));
  REQUIRE(p.write_stdin(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
                        "\n"));
  // 3,000 echo requests of 60 KB each, and stdout is never read again
  auto request = call(1, "echo", R"({"text":")" + std::string(60000, 'x') + "\"}") + "\n";
  std::atomic<int> written{0};
  std::thread writer{[&] {
    for (int i = 0; i < 3000 && p.write_stdin(request); ++i)
      ++written;
  }};
  std::this_thread::sleep_for(4s);
  // the server stopped reading long before the end, and holds little
  CHECK(written.load() < 3000);
  if (!sanitized_build)
    CHECK(rss_kib(p.pid()) < 100 * 1024);
  p.signal(SIGKILL);
  writer.join();
}

} // TEST_SUITE
