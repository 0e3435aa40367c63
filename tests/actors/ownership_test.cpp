#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "actors/ownership.hpp"

using namespace mcpvisor::actors;

namespace {

member_key member(const std::string& name, uint64_t started) {
  return member_key{stable_hash(name), started};
}

/// The name of the owner of `id` among `ms` (named by index in `names`).
std::string owner_name(const session_id& id, const std::vector<member_key>& ms,
                       const std::vector<std::string>& names) {
  auto i = owner_of(id, ms);
  return i == no_member ? std::string{} : names[i];
}

} // namespace

TEST_SUITE("ownership") {

TEST_CASE("the node that created a session owns it while it runs") {
  std::vector<std::string> names{"a", "b", "c"};
  std::vector<member_key> ms{member("a", 100), member("b", 100), member("c", 100)};
  for (int i = 0; i < 1000; ++i) {
    auto id = session_id::random(node_tag("b"), 5000);
    CHECK(owner_name(id, ms, names) == "b");
    auto buddy = buddy_of(id, ms);
    REQUIRE(buddy != no_member);
    CHECK(names[buddy] != "b");
  }
}

TEST_CASE("when the owner goes, its buddy owns the session") {
  std::vector<std::string> names{"a", "b", "c", "d", "e", "f"};
  std::vector<member_key> ms;
  for (auto& n : names)
    ms.push_back(member(n, 100));
  std::map<std::string, int> adopted;
  for (int i = 0; i < 6000; ++i) {
    auto id = session_id::random(node_tag(names[i % 6]), 5000);
    auto owner = owner_of(id, ms);
    auto buddy = buddy_of(id, ms);
    REQUIRE(owner == static_cast<size_t>(i % 6));
    auto rest = ms;
    auto rest_names = names;
    rest.erase(rest.begin() + static_cast<long>(owner));
    rest_names.erase(rest_names.begin() + static_cast<long>(owner));
    CHECK(owner_name(id, rest, rest_names) == names[buddy]);
    ++adopted[names[buddy]];
    // and again: the next buddy takes over from the first
    auto next = buddy_of(id, rest);
    REQUIRE(next != no_member);
    auto rest2 = rest;
    auto rest2_names = rest_names;
    rest2.erase(rest2.begin() + static_cast<long>(owner_of(id, rest)));
    rest2_names.erase(rest2_names.begin() + static_cast<long>(owner_of(id, rest)));
    CHECK(owner_name(id, rest2, rest2_names) == rest_names[next]);
  }
  // a dead node's sessions spread over the others
  for (auto& n : names)
    CHECK(adopted[n] > 700); // expected 1000 each
}

TEST_CASE("a member that joins, or comes back, takes no session from its owner") {
  std::vector<std::string> names{"a", "b", "c"};
  std::vector<member_key> ms{member("a", 100), member("b", 200), member("c", 300)};
  for (int i = 0; i < 3000; ++i) {
    auto id = session_id::random(node_tag(names[i % 3]), 1000);
    auto owner = names[owner_of(id, ms)];
    auto buddy = names[buddy_of(id, ms)];
    // "b" restarts (a new incarnation after the birth), "d" joins
    std::vector<member_key> later{member("a", 100), member("b", 2000), member("c", 300),
                                  member("d", 3000)};
    std::vector<std::string> later_names{"a", "b", "c", "d"};
    auto now_owner = later_names[owner_of(id, later)];
    if (owner != "b") {
      CHECK(now_owner == owner);
      CHECK(later_names[buddy_of(id, later)] != "d");
    } else {
      // the restarted b starts empty: its former sessions belong to the
      // buddy that took them over
      CHECK(now_owner == buddy);
    }
  }
}

TEST_CASE("with every member of a session's time gone, the oldest member owns it") {
  auto id = session_id::random(node_tag("a"), 1000);
  std::vector<std::string> names{"x", "y", "z"};
  std::vector<member_key> ms{member("x", 5000), member("y", 2000), member("z", 9000)};
  CHECK(owner_name(id, ms, names) == "y");
  CHECK(names[buddy_of(id, ms)] == "x");
  // a later joiner changes neither
  ms.push_back(member("w", 20000));
  names.push_back("w");
  CHECK(owner_name(id, ms, names) == "y");
  CHECK(names[buddy_of(id, ms)] == "x");
}

TEST_CASE("every node computes the same owner whatever order it lists the members in") {
  std::vector<std::string> names{"n1", "n2", "n3", "n4", "n5"};
  std::vector<member_key> ms;
  for (size_t i = 0; i < names.size(); ++i)
    ms.push_back(member(names[i], 100 + i));
  for (int i = 0; i < 500; ++i) {
    // born on a node that has gone
    auto id = session_id::random(node_tag("gone"), 10000);
    auto expect = owner_name(id, ms, names);
    auto expect_buddy = names[buddy_of(id, ms)];
    auto order = std::vector<size_t>{0, 1, 2, 3, 4};
    std::reverse(order.begin(), order.end());
    std::vector<member_key> shuffled;
    std::vector<std::string> shuffled_names;
    for (auto k : order) {
      shuffled.push_back(ms[k]);
      shuffled_names.push_back(names[k]);
    }
    CHECK(owner_name(id, shuffled, shuffled_names) == expect);
    CHECK(shuffled_names[buddy_of(id, shuffled)] == expect_buddy);
  }
}

TEST_CASE("a lone node owns everything and has no buddy") {
  std::vector<member_key> ms{member("solo", 100)};
  auto id = session_id::random(node_tag("other"), 50);
  CHECK(owner_of(id, ms) == 0);
  CHECK(buddy_of(id, ms) == no_member);
  CHECK(owner_of(id, {}) == no_member);
}

} // TEST_SUITE
