#include <doctest/doctest.h>

#include <memory>

#include "actors/checkpoint_store.hpp"
#include "actors/session_registry.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace mcpvisor::actors;

namespace {

inbound_ptr message_in() {
  return std::make_shared<inbound>();
}

} // namespace

TEST_SUITE("session registry") {

TEST_CASE("register, send while there is no actor yet, whereis, unregister") {
  session_registry reg{2, 3};
  auto id = session_id::random();
  CHECK(reg.register_name(id, message_in(), 10) == session_registry::registered::ok);
  CHECK(reg.register_name(id, message_in(), 10) == session_registry::registered::taken);
  CHECK(reg.size() == 1);
  CHECK(reg.known(id));
  CHECK_FALSE(reg.whereis(id)); // its actor is not started yet
  // messages wait for the actor, after the first one
  CHECK(reg.send(id, message_in()).known);
  auto waiting = reg.take_handover(id);
  REQUIRE(waiting != nullptr);
  CHECK(waiting->queued.size() == 2);
  CHECK_FALSE(reg.send(session_id::random(), message_in()).known);
  CHECK(reg.unregister_name(id, caf::actor_addr{}) == nullptr); // no handover left
  CHECK(reg.size() == 0);
  CHECK_FALSE(reg.known(id));
}

TEST_CASE("the session limit is counted, not scanned") {
  session_registry reg{1, 1};
  CHECK(reg.register_name(session_id::random(), message_in(), 2) == session_registry::registered::ok);
  CHECK(reg.register_name(session_id::random(), message_in(), 2) == session_registry::registered::ok);
  CHECK(reg.register_name(session_id::random(), message_in(), 2) == session_registry::registered::full);
  CHECK(reg.size() == 2);
}

TEST_CASE("a shard restart keeps the sessions that have a checkpoint") {
  session_registry reg{1, 1};
  checkpoint_store cps{1, 1};
  auto kept = session_id::random();
  auto lost = session_id::random();
  reg.register_name(kept, message_in(), 10);
  reg.register_name(lost, message_in(), 10);
  cps.save(kept, "state");
  session_registry::dropped gone;
  auto survivors = reg.restart_shard({0, 0}, cps.saved_in({0, 0}), gone);
  CHECK(survivors == std::vector<session_id>{kept});
  CHECK(gone.handovers.size() == 1); // the lost one's initialize, to answer
  CHECK(reg.size() == 1);
  CHECK(cps.load(kept) == "state");
  cps.erase(kept);
  CHECK(cps.load(kept).empty());
}

TEST_CASE("the janitor forgets sessions whose actor never started") {
  session_registry reg{1, 1};
  auto id = session_id::random();
  reg.register_name(id, message_in(), 10);
  session_registry::dropped gone;
  auto r = reg.sweep({0, 0}, 0, 0, steady_seconds() + 1, gone);
  CHECK(r.expired.empty());
  CHECK(gone.handovers.size() == 1);
  CHECK_FALSE(reg.known(id));
}

} // TEST_SUITE
