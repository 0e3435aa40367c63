#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "actors/session_id.hpp"

using mcpvisor::actors::session_id;

TEST_SUITE("session_id") {

TEST_CASE("an id is 32 visible ASCII characters and parses back to itself") {
  for (int i = 0; i < 1000; ++i) {
    auto id = session_id::random(0xabcdef);
    auto text = id.to_string();
    REQUIRE(text.size() == 32);
    for (char c : text)
      CHECK((c >= 0x21 && c <= 0x7e));
    auto back = session_id::parse(text);
    REQUIRE(back);
    CHECK(*back == id);
    CHECK(back->to_string() == text);
  }
}

TEST_CASE("ids do not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i)
    seen.insert(session_id::random().to_string());
  CHECK(seen.size() == 10000);
}

TEST_CASE("malformed ids are refused") {
  CHECK_FALSE(session_id::parse(""));
  CHECK_FALSE(session_id::parse("short"));
  CHECK_FALSE(session_id::parse("AAAAAAAAAAAAAAAAAAAAAA")); // 22 chars: an older id
  CHECK_FALSE(session_id::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); // 33 chars
  CHECK_FALSE(session_id::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/A")); // not base64url
  CHECK_FALSE(session_id::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA A"));
  CHECK_FALSE(session_id::parse("../../../../../../../etc/passwd!"));
  CHECK(session_id::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

TEST_CASE("the id names the node it was born on and when") {
  auto before = mcpvisor::actors::cluster_clock_ms();
  auto id = session_id::random(0x123456);
  auto after = mcpvisor::actors::cluster_clock_ms();
  auto back = session_id::parse(id.to_string());
  REQUIRE(back);
  CHECK(back->node_tag() == 0x123456);
  CHECK(back->born_ms() >= before);
  CHECK(back->born_ms() <= after);
  // a tag wider than 24 bits keeps its low 24
  CHECK(session_id::random(0x7f123456).node_tag() == 0x123456);
  CHECK(session_id::from_parts(id.hi(), id.lo(), id.origin()) == id);
}

TEST_CASE("the id names its shard, and ids spread over all shards") {
  constexpr uint32_t metas = 4;
  constexpr uint32_t shards = 16;
  std::vector<int> hits(metas * shards, 0);
  for (int i = 0; i < 64000; ++i) {
    auto id = session_id::random();
    auto a = id.address(metas, shards);
    REQUIRE(a.meta < metas);
    REQUIRE(a.shard < shards);
    CHECK(session_id::parse(id.to_string())->address(metas, shards) == a);
    ++hits[a.meta * shards + a.shard];
  }
  for (int h : hits) {
    CHECK(h > 700); // expected 1000 each
    CHECK(h < 1300);
  }
}

} // TEST_SUITE
