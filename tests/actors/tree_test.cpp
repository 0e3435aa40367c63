#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/node.hpp"
#include "actors/session.hpp"
#include "supervision/client.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

using namespace mcpvisor;
using namespace std::chrono_literals;
namespace sup = mcpvisor::supervision;

namespace {

constexpr auto wait_limit = 5s;

actors::node_config small_tree(int shard_intensity = 5, int meta_intensity = 5,
                               int root_intensity = 3) {
  actors::node_config cfg;
  cfg.scheduler_threads = 2;
  cfg.runtime.tree.meta_shards = 2;
  cfg.runtime.tree.shards_per_meta = 3;
  cfg.runtime.tree.shard_intensity = shard_intensity;
  cfg.runtime.tree.shard_period = 10s;
  cfg.runtime.tree.meta_intensity = meta_intensity;
  cfg.runtime.tree.meta_period = 10s;
  cfg.runtime.tree.root_intensity = root_intensity;
  cfg.runtime.tree.root_period = 10s;
  return cfg;
}

/// A fresh id that lands in the given shard.
actors::session_id id_in(actors::node& n, actors::shard_address where) {
  const auto& t = n.rt().config().tree;
  for (;;) {
    auto id = actors::session_id::random();
    if (id.address(t.meta_shards, t.shards_per_meta) == where)
      return id;
  }
}

/// Starts a session through its shard, as the transports do.
caf::actor start_session(actors::node& n, caf::scoped_actor& self,
                         const actors::session_id& id) {
  auto shard = n.rt().shards().get(n.rt().registry().address_of(id));
  REQUIRE(shard);
  auto res = sup::client::start_child(self, shard, id.to_string(),
                                      caf::message{});
  REQUIRE(res);
  return *res;
}

bool answers(caf::scoped_actor& self, const caf::actor& a) {
  bool ok = false;
  self->request(a, wait_limit, actors::event_atom::value,
                actors::event::of(actors::event::kind::info))
    .receive([&](std::string&) { ok = true; }, [](caf::error&) {});
  return ok;
}

/// Waits until the registry routes `id` to a live actor other than `old`.
caf::actor wait_rerouted(actors::node& n, const actors::session_id& id,
                         const caf::actor& old) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = n.rt().registry().whereis(id);
    if (h && h != old)
      return h;
    std::this_thread::sleep_for(1ms);
  }
  return nullptr;
}

/// Waits until the shard's slot names a supervisor other than `old`.
caf::actor wait_new_shard(actors::node& n, actors::shard_address where,
                          const caf::actor& old) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = n.rt().shards().get(where);
    if (h && h != old)
      return h;
    std::this_thread::sleep_for(1ms);
  }
  return nullptr;
}

caf::error wait_down(caf::scoped_actor& self, const caf::actor& a) {
  caf::error reason = caf::sec::request_timeout;
  self->monitor(a);
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(wait_limit) >> [] {});
  return reason;
}

} // namespace

TEST_SUITE("session tree") {

TEST_CASE("the tree has the configured meta-shards and shards") {
  actors::node n{small_tree()};
  REQUIRE_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  auto snap = sup::client::snapshot(self, n.root());
  REQUIRE(snap);
  CHECK(snap->id == "root");
  REQUIRE(snap->children.size() == 2);
  CHECK(snap->children[1].id == "meta-1");
  CHECK(snap->children[1].how == sup::strategy::one_for_one);
  REQUIRE(snap->children[1].children.size() == 3);
  CHECK(snap->children[1].children[2].id == "shard-1-2");
  CHECK(snap->children[1].children[2].how
        == sup::strategy::simple_one_for_one);
  n.stop();
  CHECK(n.wait() == 0);
}

TEST_CASE("sessions are started, routed by id and stopped through the tree") {
  actors::node n{small_tree()};
  REQUIRE_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  std::vector<actors::session_id> ids;
  for (int i = 0; i < 60; ++i) {
    auto id = actors::session_id::random();
    auto h = start_session(n, self, id);
    CHECK(n.rt().registry().whereis(id) == h);
    ids.push_back(id);
  }
  CHECK(n.rt().registry().size() == 60);
  for (auto& id : ids)
    CHECK(answers(self, n.rt().registry().whereis(id)));
  // a session that ends normally is forgotten by its shard and the routing
  auto victim = n.rt().registry().whereis(ids[0]);
  actors::expire_session(victim);
  CHECK_FALSE(wait_down(self, victim));
  CHECK_FALSE(n.rt().registry().whereis(ids[0]));
  // terminate_child stops one through its shard
  auto shard = n.rt().shards().get(n.rt().registry().address_of(ids[1]));
  CHECK_FALSE(sup::client::terminate_child(self, shard, ids[1].to_string()));
  CHECK_FALSE(n.rt().registry().whereis(ids[1]));
  CHECK(n.rt().registry().size() == 58);
  n.stop();
  CHECK(n.wait() == 0);
  CHECK(n.rt().registry().size() == 0); // stopped sessions unregister
}

TEST_CASE("a crashing session is restarted by its shard under the same id") {
  actors::node n{small_tree()};
  REQUIRE_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  auto id = actors::session_id::random();
  auto before = start_session(n, self, id);
  actors::crash(before, "tool blew up");
  auto after = wait_rerouted(n, id, before);
  REQUIRE(after);
  CHECK(answers(self, after));
  auto shard = n.rt().shards().get(n.rt().registry().address_of(id));
  auto kids = sup::client::which_children(self, shard);
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().restarts == 1);
  CHECK(kids->front().last_exit.find("tool blew up") != std::string::npos);
}

TEST_CASE("a shard that exceeds its intensity is restarted by its meta-shard; "
          "sibling shards keep their sessions") {
  actors::node n{small_tree(1)};
  REQUIRE_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  actors::shard_address bad{0, 1};
  auto doomed = id_in(n, bad);
  auto neighbour_id = id_in(n, {0, 2});
  auto cousin_id = id_in(n, {1, 1});
  start_session(n, self, doomed);
  auto neighbour = start_session(n, self, neighbour_id);
  auto cousin = start_session(n, self, cousin_id);
  auto old_shard = n.rt().shards().get(bad);
  auto s1 = n.rt().registry().whereis(doomed);
  actors::crash(s1, "first");
  auto s2 = wait_rerouted(n, doomed, s1);
  REQUIRE(s2);
  actors::crash(s2, "second");
  auto new_shard = wait_new_shard(n, bad, old_shard);
  REQUIRE(new_shard);
  // the restarted shard starts empty; its siblings were not touched
  auto kids = sup::client::which_children(self, new_shard);
  REQUIRE(kids);
  CHECK(kids->empty());
  CHECK_FALSE(n.rt().registry().whereis(doomed));
  CHECK(n.rt().registry().whereis(neighbour_id) == neighbour);
  CHECK(n.rt().registry().whereis(cousin_id) == cousin);
  CHECK(answers(self, neighbour));
  auto snap = sup::client::snapshot(self, n.root());
  REQUIRE(snap);
  const auto& meta0 = snap->children[0];
  CHECK(meta0.child_restarts == 1);
  CHECK(meta0.children[1].restarts == 1);
  CHECK(meta0.children[2].restarts == 0);
  // the new shard serves new sessions
  auto fresh = id_in(n, bad);
  CHECK(answers(self, start_session(n, self, fresh)));
}

TEST_CASE("the root's intensity exceeded ends the node with a non-zero "
          "status") {
  actors::node n{small_tree(5, 5, 1)};
  REQUIRE_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  auto meta_of = [&](size_t i) {
    auto kids = sup::client::which_children(self, n.root());
    REQUIRE(kids);
    return (*kids)[i].handle;
  };
  auto m0 = meta_of(0);
  REQUIRE(m0);
  self->send_exit(m0, caf::exit_reason::kill);
  caf::actor m0b;
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (!m0b && std::chrono::steady_clock::now() < deadline) {
    auto h = meta_of(0);
    if (h && h != m0)
      m0b = h;
    else
      std::this_thread::sleep_for(1ms);
  }
  REQUIRE(m0b);
  self->send_exit(m0b, caf::exit_reason::kill);
  CHECK(n.wait() == 1);
  CHECK(n.exit_text().find("reached max restart intensity")
        != std::string::npos);
}

} // TEST_SUITE
