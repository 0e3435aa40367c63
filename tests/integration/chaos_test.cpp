#include <doctest/doctest.h>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

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
  // 200 sessions cycle through echo (read-only, inline), sleep (read-only,
  // on a worker) and bump (neither): the load tool counts an error for any
  // answer but a result, or the restarted-session error for bump; for a
  // wrong id (more than one answer, or none) and for a call that waited
  // 10 s (a hung client)
  auto [status, report] = run_load(
    {"--url", "http://127.0.0.1:" + std::to_string(s.port) + "/mcp", "--mix",
     "--concurrency", "200", "--duration", "60", "--warmup", "1", "--timeout",
     "10", "--server-pid", std::to_string(s.proc->pid())},
    150s);
  INFO(report);
  CHECK(status == 0);
  CHECK(report_field(report, "errors") == "none");
  CHECK(report_number(report, "refused_503") == 0);
  CHECK(report_number(report, "calls_ok") > 10000);
  CHECK(report_number(report, "duration_s") >= 60);
  // the drill happened: sessions killed in about 20 rounds, the shard 4 or
  // 5 times
  CHECK(admin_metric(admin_port, "mcpvisor_restarts_total{level=\"session\"}") >= 300);
  CHECK(admin_metric(admin_port, "mcpvisor_restarts_total{level=\"shard\"}") >= 4);
  // no session was lost: each one's DELETE at the end found it (the load
  // tool counts a 404 there as an error), and none is left over
  CHECK(admin_metric(admin_port, "mcpvisor_sessions") == 0);
  // memory did not grow with the crashes (not measurable under ASan)
  auto before = report_number(report, "server_rss_before_kb");
  auto after = report_number(report, "server_rss_kb");
  CHECK(before > 0);
  if (!sanitized_build)
    CHECK(after <= before * 1.1);
}

} // TEST_SUITE
