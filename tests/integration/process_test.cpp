#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "tests/support/process.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

TEST_SUITE("mcpvisor process") {

TEST_CASE("the node starts, says it is ready on stderr and stops cleanly on "
          "SIGTERM and SIGINT, printing nothing to stdout") {
  for (int sig : {SIGTERM, SIGINT}) {
    process p{{mcpvisor_binary(), "--meta-shards", "2", "--shards", "4"}};
    auto ready = p.wait_stderr("\"ready\"", 10s);
    REQUIRE(ready);
    CHECK(ready->find("\"level\":\"info\"") != std::string::npos);
    p.signal(sig);
    CHECK(p.wait_stderr("\"stopped\"", 10s));
    CHECK(p.wait_exit(10s) == 0);
    CHECK(p.drain_stdout(100ms).empty());
  }
}

TEST_CASE("bad command lines are refused with a message and status 2") {
  process unknown{{mcpvisor_binary(), "--no-such-flag"}};
  CHECK(unknown.wait_exit(10s) == 2);
  CHECK(unknown.wait_stderr("no-such-flag", 1s));
  process zero{{mcpvisor_binary(), "--meta-shards", "0"}};
  CHECK(zero.wait_exit(10s) == 2);
  CHECK(zero.wait_stderr("meta-shards", 1s));
  process missing{{mcpvisor_binary(), "--config", "/nonexistent/mcpvisor.toml"}};
  CHECK(missing.wait_exit(10s) == 2);
}

TEST_CASE("options come from a TOML config file, flags win") {
  char path[] = "/tmp/mcpvisor-cfg-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream f{path};
    f << "meta-shards = 3\nshards = 5\n";
  }
  process p{{mcpvisor_binary(), "--config", path, "--shards", "7"}};
  auto ready = p.wait_stderr("\"ready\"", 10s);
  REQUIRE(ready);
  CHECK(ready->find("\"meta_shards\":\"3\"") != std::string::npos);
  CHECK(ready->find("\"shards_per_meta\":\"7\"") != std::string::npos);
  p.signal(SIGTERM);
  CHECK(p.wait_exit(10s) == 0);
  std::remove(path);
}

} // TEST_SUITE
