#include "tests/integration/server_fixture.hpp"

#include <csignal>

#include <doctest/doctest.h>

namespace mcpvisor::test {

using namespace std::chrono_literals;

server_fixture::server_fixture(std::vector<std::string> extra, std::string tools) {
  port = free_port();
  std::vector<std::string> argv{mcpvisor_binary(), "--listen",
                                "127.0.0.1:" + std::to_string(port), "--tools",
                                tools, "--scheduler-threads", "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc = std::make_unique<process>(argv);
  auto ready = proc->wait_stderr("\"ready\"", 10s);
  REQUIRE(ready);
}

server_fixture::~server_fixture() {
  proc->signal(SIGTERM);
  auto status = proc->wait_exit(10s);
  CHECK(status == 0);
}

std::optional<http_response> server_fixture::request(const std::string& raw) {
  http_client c{port};
  REQUIRE(c.connected());
  REQUIRE(c.send_raw(raw));
  return c.read_response();
}

std::string server_fixture::initialize(const std::string& version,
                                       const std::string& caps) {
  auto r = request(http_client::post(
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")"
    + version + R"(","capabilities":)" + caps
    + R"(,"clientInfo":{"name":"it","version":"1"}}})"));
  if (!r || r->status != 200)
    return {};
  auto sid = r->header("mcp-session-id");
  auto n = request(http_client::post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                                     session_headers(sid, version)));
  CHECK((n && n->status == 202));
  return sid;
}

std::string server_fixture::session_headers(const std::string& sid,
                                            const std::string& version) {
  return "Mcp-Session-Id: " + sid + "\r\nMCP-Protocol-Version: " + version + "\r\n";
}

bool server_fixture::healthy() {
  auto sid = initialize();
  if (sid.empty())
    return false;
  auto r = request(http_client::post(R"({"jsonrpc":"2.0","id":2,"method":"ping"})",
                                     session_headers(sid)));
  return r && r->status == 200 && r->body.find("\"result\":{}") != std::string::npos;
}

} // namespace mcpvisor::test
