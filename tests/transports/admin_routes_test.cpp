#include <doctest/doctest.h>

#include "transports/admin_routes.hpp"

using namespace mcpvisor::transports;

TEST_SUITE("admin routes") {

TEST_CASE("each path and method reaches its operation") {
  CHECK(route_admin("GET", "/healthz").op == admin_op::health);
  CHECK(route_admin("GET", "/readyz").op == admin_op::ready);
  CHECK(route_admin("GET", "/metrics").op == admin_op::metrics);
  CHECK(route_admin("GET", "/admin/andon").op == admin_op::andon_get);
  CHECK(route_admin("POST", "/admin/andon").op == admin_op::andon_set);
  CHECK(route_admin("POST", "/admin/chaos").op == admin_op::chaos);
  auto tree = route_admin("GET", "/admin/tree?depth=5");
  CHECK(tree.op == admin_op::tree);
  CHECK(tree.depth == 5);
  auto shard = route_admin("GET", "/admin/tree/2/7?cursor=abc");
  CHECK(shard.op == admin_op::shard);
  CHECK(shard.meta == 2);
  CHECK(shard.shard == 7);
  CHECK(shard.cursor == "abc");
}

TEST_CASE("only the page goes without the token") {
  CHECK_FALSE(route_admin("GET", "/admin/").needs_token);
  CHECK_FALSE(route_admin("GET", "/admin").needs_token);
  CHECK(route_admin("GET", "/admin").op == admin_op::redirect_page);
  CHECK(route_admin("GET", "/metrics").needs_token);
  CHECK(route_admin("GET", "/nowhere").needs_token);
}

TEST_CASE("refusals: 405 with Allow, 404, and bad numbers") {
  auto post_health = route_admin("POST", "/healthz");
  CHECK(post_health.op == admin_op::refuse);
  CHECK(post_health.status == 405);
  CHECK(post_health.allow == "GET");
  CHECK(route_admin("GET", "/admin/chaos").allow == "POST");
  CHECK(route_admin("DELETE", "/admin/andon").allow == "GET, POST");
  CHECK(route_admin("GET", "/admin/tree?depth=17").status == 400);
  CHECK(route_admin("GET", "/admin/tree?depth=-1").status == 400);
  CHECK(route_admin("GET", "/admin/tree?depth=x").status == 400);
  CHECK(route_admin("GET", "/admin/tree/1").status == 404);
  CHECK(route_admin("GET", "/admin/tree/a/b").status == 404);
  CHECK(route_admin("GET", "/admin/tree/99999999999/1").status == 404);
  CHECK(route_admin("GET", "/other").status == 404);
}

} // TEST_SUITE
