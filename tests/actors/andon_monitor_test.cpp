#include <doctest/doctest.h>

#include "actors/andon_monitor.hpp"

using namespace mcpvisor::actors;

namespace {

andon_marks marks() {
  andon_config cfg;
  cfg.queue_high = 1000;
  cfg.queue_low = 100;
  cfg.rss_high_mb = 512;
  cfg.restarts_high = 200;
  return andon_marks::from(cfg, 20000);
}

} // namespace

TEST_SUITE("overload monitor rules") {

TEST_CASE("thresholds follow the configuration and the descriptor limit") {
  auto m = marks();
  CHECK(m.queue_high == 1000);
  CHECK(m.queue_low == 100);
  CHECK(m.rss_high == 512ull * 1024 * 1024);
  CHECK(m.rss_low == m.rss_high / 10 * 9);
  CHECK(m.fds_high == 18000);
  CHECK(m.fds_low == 16000);
  CHECK(m.restarts_low == doctest::Approx(20));
  andon_config low;
  low.queue_high = 10;
  low.queue_low = 50; // a low mark above the high one is clamped
  CHECK(andon_marks::from(low, 1000).queue_low == 10);
  low.fds_high = 500;
  CHECK(andon_marks::from(low, 1000).fds_high == 500);
  CHECK(andon_marks::from(low, 1000).fds_low == 500);
}

TEST_CASE("each high-water mark pulls, naming what reached it") {
  auto m = marks();
  load_sample calm;
  calm.fds = 20;
  auto v = judge(calm, m);
  CHECK_FALSE(v.pull);
  CHECK(v.calm);
  auto queued = calm;
  queued.queued = 1000;
  v = judge(queued, m);
  REQUIRE(v.pull);
  CHECK(v.pull->find("queued work 1000") != std::string::npos);
  auto rss = calm;
  rss.rss_bytes = 600ull * 1024 * 1024;
  REQUIRE(judge(rss, m).pull);
  CHECK(judge(rss, m).pull->find("resident memory") != std::string::npos);
  auto fds = calm;
  fds.fds = 18500;
  REQUIRE(judge(fds, m).pull);
  CHECK(judge(fds, m).pull->find("descriptors") != std::string::npos);
  auto restarts = calm;
  restarts.restarts_per_s = 250;
  REQUIRE(judge(restarts, m).pull);
  CHECK(judge(restarts, m).pull->find("restarts per second") != std::string::npos);
}

TEST_CASE("between the marks nothing changes: no pull, not calm") {
  auto m = marks();
  load_sample s;
  s.queued = 500;
  auto v = judge(s, m);
  CHECK_FALSE(v.pull);
  CHECK_FALSE(v.calm);
  s.queued = 100;
  CHECK(judge(s, m).calm);
  s.restarts_per_s = 50; // above a tenth of the high mark
  CHECK_FALSE(judge(s, m).calm);
}

TEST_CASE("memory is not watched unless a mark is set") {
  andon_config cfg;
  auto m = andon_marks::from(cfg, 20000);
  load_sample s;
  s.rss_bytes = 100ull * 1024 * 1024 * 1024;
  CHECK_FALSE(judge(s, m).pull);
  CHECK(judge(s, m).calm);
}

} // TEST_SUITE
