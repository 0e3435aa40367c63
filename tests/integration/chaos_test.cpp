#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

std::string field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    return {};
  at += key.size() + 3;
  if (json[at] == '"')
    return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  return json.substr(at, json.find_first_of(",}", at) - at);
}

double number(const std::string& json, const std::string& key) {
  auto v = field(json, key);
  return v.empty() ? -1 : std::stod(v);
}

double metric(int admin_port, const std::string& name) {
  http_client c{admin_port};
  REQUIRE(c.send_raw("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto m = c.read_response();
  REQUIRE(m);
  auto at = m->body.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(m->body.substr(at + name.size() + 2));
}

} // namespace

TEST_SUITE("chaos") {

TEST_CASE("a minute of calls while 10% of sessions are killed every 3 s and "
          "a shard now and then: every request gets exactly one answer") {
  auto admin_port = free_port();
  // the drill runs from start-up, bounded in time like the calls
  server_fixture s{{"--admin", "127.0.0.1:" + std::to_string(admin_port),
                    "--workers", "32",
                    "--chaos",
                    R"({"target":"sessions","fraction":0.1,"every_ms":3000,"for_ms":64000,"reason":"drill"})",
                    "--chaos",
                    R"({"target":"shard","meta":0,"shard":1,"every_ms":15000,"for_ms":64000,"reason":"drill"})"},
                   "drill"};
  auto out = "/tmp/mcpvisor-chaos-" + std::to_string(::getpid()) + ".json";
  // 200 sessions cycle through echo (read-only, inline), sleep (read-only,
  // on a worker) and bump (neither): the load tool counts an error for any
  // answer but a result, or the restarted-session error for bump; for a
  // wrong id (more than one answer, or none) and for a call that waited
  // 10 s (a hung client)
  process load{{load_binary(), "--url",
                "http://127.0.0.1:" + std::to_string(s.port) + "/mcp", "--mix",
                "--concurrency", "200", "--duration", "60", "--warmup", "1",
                "--timeout", "10", "--server-pid", std::to_string(s.proc->pid()),
                "--json", out}};
  auto status = load.wait_exit(150s);
  REQUIRE(status);
  std::ifstream f{out};
  std::stringstream ss;
  ss << f.rdbuf();
  auto report = ss.str();
  std::remove(out.c_str());
  INFO(report);
  CHECK(*status == 0);
  CHECK(field(report, "errors") == "none");
  CHECK(number(report, "refused_503") == 0);
  CHECK(number(report, "calls_ok") > 10000);
  CHECK(number(report, "duration_s") >= 60);
  // the drill happened: sessions killed in about 20 rounds, the shard 4 or
  // 5 times
  CHECK(metric(admin_port, "mcpvisor_restarts_total{level=\"session\"}") >= 300);
  CHECK(metric(admin_port, "mcpvisor_restarts_total{level=\"shard\"}") >= 4);
  // no session was lost: each one's DELETE at the end found it (the load
  // tool counts a 404 there as an error), and none is left over
  CHECK(metric(admin_port, "mcpvisor_sessions") == 0);
  // memory did not grow with the crashes (not measurable under ASan)
  auto before = number(report, "server_rss_before_kb");
  auto after = number(report, "server_rss_kb");
  CHECK(before > 0);
  if (!sanitized_build)
    CHECK(after <= before * 1.1);
}

} // TEST_SUITE
