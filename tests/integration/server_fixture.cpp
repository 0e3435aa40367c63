#include "tests/integration/server_fixture.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <doctest/doctest.h>

namespace mcpvisor::test {

using namespace std::chrono_literals;

server_fixture::server_fixture(std::vector<std::string> extra, std::string tools) {
  port = free_port();
  std::vector<std::string> argv{mcpvisor_binary(), "--listen",
                                "127.0.0.1:" + std::to_string(port), "--tools", tools};
  // two scheduler threads unless the test asks for its own number
  if (std::find(extra.begin(), extra.end(), "--scheduler-threads") == extra.end())
    argv.insert(argv.end(), {"--scheduler-threads", "2"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc = std::make_unique<process>(argv);
  auto ready = proc->wait_stderr("\"ready\"", 10s);
  REQUIRE(ready);
}

server_fixture::~server_fixture() {
  if (exited)
    return;
  proc->signal(SIGTERM);
  auto status = proc->wait_exit(10s);
  if (status != 0) {
    // what the server said last, to tell a hang from a crash
    auto err = proc->stderr_text();
    MESSAGE("exit status " << (status ? std::to_string(*status) : std::string{"none after 10 s"})
            << "; stderr ends with: " << err.substr(err.size() > 3000 ? err.size() - 3000 : 0));
  }
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

load_run run_load(std::vector<std::string> args, std::chrono::seconds limit) {
  static int runs = 0;
  auto out = "/tmp/mcpvisor-load-" + std::to_string(::getpid()) + "-"
             + std::to_string(++runs) + ".json";
  std::vector<std::string> argv{load_binary(), "--json", out};
  argv.insert(argv.end(), args.begin(), args.end());
  process p{argv};
  load_run r;
  auto status = p.wait_exit(limit);
  REQUIRE(status);
  r.status = *status;
  std::ifstream f{out};
  std::stringstream ss;
  ss << f.rdbuf();
  r.report = ss.str();
  std::remove(out.c_str());
  return r;
}

std::string report_field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    return {};
  at += key.size() + 3;
  if (json[at] == '"')
    return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  return json.substr(at, json.find_first_of(",}", at) - at);
}

double report_number(const std::string& json, const std::string& key) {
  auto v = report_field(json, key);
  return v.empty() ? -1 : std::stod(v);
}

double admin_metric(int admin_port, const std::string& name) {
  http_client c{admin_port};
  REQUIRE(c.send_raw("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto m = c.read_response();
  REQUIRE(m);
  auto at = m->body.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(m->body.substr(at + name.size() + 2));
}

} // namespace mcpvisor::test
