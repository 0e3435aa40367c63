#include <doctest/doctest.h>

#include "actors/cluster.hpp"

using mcpvisor::actors::cluster_config;
using mcpvisor::actors::split_host_port;

TEST_SUITE("cluster") {

TEST_CASE("cluster addresses are HOST:PORT") {
  std::string host;
  uint16_t port = 0;
  REQUIRE(split_host_port("127.0.0.1:7400", host, port));
  CHECK(host == "127.0.0.1");
  CHECK(port == 7400);
  REQUIRE(split_host_port("[::1]:9", host, port));
  CHECK(host == "::1");
  CHECK(port == 9);
  for (auto bad : {"", "7400", ":7400", "host:", "host:70000", "host:12x", "host:-1"}) {
    CAPTURE(bad);
    CHECK_FALSE(split_host_port(bad, host, port));
  }
}

TEST_CASE("a node is alone unless it has a cluster port, and named by it unless named") {
  cluster_config c;
  CHECK_FALSE(c.enabled());
  c.listen = "10.0.0.1:7400";
  CHECK(c.enabled());
  CHECK(c.name() == "10.0.0.1:7400");
  c.node_name = "node-1";
  CHECK(c.name() == "node-1");
}

} // TEST_SUITE
