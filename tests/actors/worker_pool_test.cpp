#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "actors/worker_pool.hpp"

using namespace mcpvisor::actors;
using namespace std::chrono_literals;

namespace {

/// Polls `f` every 10 ms until it is true or 5 s passed.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 500; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

TEST_SUITE("worker pool") {

TEST_CASE("jobs run; a full queue refuses") {
  worker_pool pool{1, 1};
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  REQUIRE(pool.submit([&] {
    while (!release)
      std::this_thread::sleep_for(1ms);
    ++ran;
  }));
  REQUIRE(eventually([&] { return pool.running() == 1; }));
  CHECK(pool.submit([&] { ++ran; }));
  CHECK_FALSE(pool.submit([&] { ++ran; })); // the queue holds one
  release = true;
  CHECK(pool.stop(5s));
  CHECK(ran == 2);
  CHECK_FALSE(pool.submit([] {}));
}

TEST_CASE("a job stuck past its deadline loses its thread to a new one") {
  worker_pool pool{1, 100, 100ms};
  std::atomic<bool> release{false};
  REQUIRE(pool.submit(
    [&] {
      while (!release)
        std::this_thread::sleep_for(1ms);
    },
    worker_pool::clock::now() + 50ms, "stuck"));
  std::atomic<bool> second{false};
  REQUIRE(pool.submit([&] { second = true; }));
  // the only thread is stuck: the second job runs on its replacement
  CHECK(eventually([&] { return second.load(); }));
  CHECK(pool.abandoned_total() == 1);
  CHECK(pool.running() == 1);
  release = true;
  CHECK(eventually([&] { return pool.running() == 0; }));
  CHECK(pool.stop(1s));
}

TEST_CASE("stop gives running jobs the drain time, then leaves them") {
  worker_pool pool{1, 10};
  std::atomic<bool> release{false};
  REQUIRE(pool.submit([&] {
    while (!release)
      std::this_thread::sleep_for(1ms);
  }));
  REQUIRE(eventually([&] { return pool.running() == 1; }));
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(pool.stop(200ms));
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  release = true; // the detached thread ends on its own
  CHECK(eventually([&] { return pool.running() == 0; }));
}

} // TEST_SUITE
