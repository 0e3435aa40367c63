#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "supervision/andon.hpp"
#include "supervision/mailbox_gauge.hpp"

using mcpvisor::supervision::andon_cord;

TEST_SUITE("andon cord") {

TEST_CASE("pull and release are counted once each, with their reasons") {
  andon_cord cord;
  CHECK_FALSE(cord.pulled());
  CHECK(cord.pull("queue full", false));
  CHECK(cord.pulled());
  CHECK(cord.reason() == "queue full");
  CHECK_FALSE(cord.pull("still full", false)); // already pulled
  CHECK(cord.release("drained", false));
  CHECK_FALSE(cord.pulled());
  CHECK(cord.reason().empty());
  CHECK_FALSE(cord.release("again", false)); // not pulled
  CHECK(cord.pulls() == 1);
  CHECK(cord.releases() == 1);
  auto h = cord.history();
  REQUIRE(h.size() == 2);
  CHECK(h[0].pulled);
  CHECK(h[0].reason == "queue full");
  CHECK_FALSE(h[1].pulled);
  CHECK(h[1].reason == "drained");
  CHECK(h[0].at <= h[1].at);
}

TEST_CASE("a cord pulled by hand is released only by hand") {
  andon_cord cord;
  CHECK(cord.pull("maintenance", true));
  CHECK(cord.manual());
  CHECK_FALSE(cord.release("monitor: calm", false));
  CHECK(cord.pulled());
  CHECK(cord.release("done", true));
  CHECK_FALSE(cord.pulled());
  CHECK_FALSE(cord.manual());
}

TEST_CASE("an operator takes over an automatic pull") {
  andon_cord cord;
  CHECK(cord.pull("queue full", false));
  CHECK(cord.pull("investigating", true));
  CHECK(cord.manual());
  CHECK(cord.reason() == "investigating");
  CHECK(cord.pulls() == 1); // one pull, taken over
  CHECK_FALSE(cord.release("monitor: calm", false));
  CHECK(cord.release("fixed", true));
}

TEST_CASE("history keeps the latest 64 events") {
  andon_cord cord;
  for (int i = 0; i < 50; ++i) {
    CHECK(cord.pull("p" + std::to_string(i), false));
    CHECK(cord.release("r" + std::to_string(i), false));
  }
  auto h = cord.history();
  REQUIRE(h.size() == 64);
  CHECK(h.back().reason == "r49");
  CHECK(h.front().reason == "p18");
}

TEST_CASE("readers on other threads see the cord without locks") {
  andon_cord cord;
  std::atomic<bool> seen{false};
  std::thread reader{[&] {
    for (int i = 0; i < 1000000 && !seen; ++i)
      if (cord.pulled())
        seen = true;
  }};
  cord.pull("now", false);
  reader.join();
  CHECK(cord.pulled());
}

} // TEST_SUITE

TEST_SUITE("mailbox gauges") {

TEST_CASE("a capped scan keeps one flooded actor from dominating the sum") {
  mcpvisor::supervision::gauge_registry reg;
  auto* flooded = reg.acquire();
  auto* a = reg.acquire();
  auto* b = reg.acquire();
  flooded->publish(10000);
  a->publish(3);
  b->publish(5);
  auto t = reg.scan(64);
  CHECK(t.in_use == 3);
  CHECK(t.sum_depth == 10008);
  CHECK(t.max_depth == 10000);
  CHECK(t.capped_sum == 72);
  reg.release(flooded);
  CHECK(reg.scan(64).capped_sum == 8);
}

} // TEST_SUITE
