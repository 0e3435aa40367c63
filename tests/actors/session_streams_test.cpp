#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "actors/session_streams.hpp"

using namespace mcpvisor;
using namespace mcpvisor::actors;
using kind = protocol::message_kind;

namespace {

/// A channel that records what it was asked to send.
struct recorder : channel {
  std::vector<std::string> calls;
  bool open = true;

  void send(reply r) override {
    calls.push_back("send " + std::to_string(r.status) + " " + r.json);
  }
  void open_stream(std::string_view prime, int retry) override {
    calls.push_back("open " + std::string{prime} + " " + std::to_string(retry));
  }
  void event(std::string_view id, kind, std::string json) override {
    calls.push_back("event " + std::string{id} + " " + json);
  }
  void close() override {
    calls.push_back("close");
  }
  bool alive() const override {
    return open;
  }
};

protocol::request_id rid(int64_t n) {
  return protocol::request_id{n};
}

} // namespace

TEST_SUITE("session streams") {

TEST_CASE("an answer alone is one JSON body; a notification first makes it "
          "a stream") {
  session_streams s;
  auto a = std::make_shared<recorder>();
  s.open_request(rid(1), a, true);
  s.deliver(rid(1), kind::result, "R1", true);
  CHECK(a->calls == std::vector<std::string>{"send 200 R1"});
  auto b = std::make_shared<recorder>();
  s.open_request(rid(2), b, true);
  s.deliver(rid(2), kind::notification, "N", false);
  s.deliver(rid(2), kind::result, "R2", true);
  // stream 2 (1 was the first request's): primed, two events, closed
  CHECK(b->calls == std::vector<std::string>{"open 2_0 1000", "event 2_1 N",
                                             "event 2_2 R2", "close"});
  CHECK(s.replay_size() == 2);
}

TEST_CASE("clients before 2025-11-25 get no priming event") {
  session_streams s;
  auto a = std::make_shared<recorder>();
  s.open_request(rid(1), a, false, true);
  CHECK(a->calls == std::vector<std::string>{"open  1000"});
}

TEST_CASE("a lost stream resumes with Last-Event-ID from the replay buffer") {
  session_streams s;
  auto a = std::make_shared<recorder>();
  s.open_request(rid(1), a, true, true);
  s.deliver(rid(1), kind::notification, "N1", false);
  a->open = false; // the client lost the connection
  s.deliver(rid(1), kind::notification, "N2", false);
  auto again = std::make_shared<recorder>();
  CHECK(s.attach(again, "1_1", true) == session_streams::attach_result::ok);
  s.deliver(rid(1), kind::result, "R", true);
  CHECK(again->calls == std::vector<std::string>{"open  1000", "event 1_2 N2",
                                                 "event 1_3 R", "close"});
  // a stream that is over replays what is left and ends
  auto late = std::make_shared<recorder>();
  CHECK(s.attach(late, "1_2", true) == session_streams::attach_result::ok);
  CHECK(late->calls.back() == "close");
}

TEST_CASE("the standalone GET stream: one at a time; unknown event ids") {
  session_streams s;
  auto get = std::make_shared<recorder>();
  CHECK(s.attach(get, {}, true) == session_streams::attach_result::ok);
  CHECK(s.attach(std::make_shared<recorder>(), {}, true)
        == session_streams::attach_result::conflict);
  s.deliver_standalone(kind::notification, "LIST_CHANGED");
  CHECK(get->calls.back() == "event 0_1 LIST_CHANGED");
  CHECK(s.attach(std::make_shared<recorder>(), "9_1", true)
        == session_streams::attach_result::unknown_event);
  CHECK(s.attach(std::make_shared<recorder>(), "garbage", true)
        == session_streams::attach_result::unknown_event);
}

TEST_CASE("the replay buffer is bounded in events and bytes") {
  stream_limits small;
  small.replay_events = 3;
  small.replay_bytes = 1 << 20;
  session_streams s{small};
  auto a = std::make_shared<recorder>();
  s.open_request(rid(1), a, true, true);
  for (int i = 0; i < 10; ++i)
    s.deliver(rid(1), kind::notification, "N" + std::to_string(i), false);
  CHECK(s.replay_size() == 3);
  stream_limits tiny;
  tiny.replay_bytes = 10;
  session_streams t{tiny};
  t.open_request(rid(1), a, true, true);
  t.deliver(rid(1), kind::notification, std::string(8, 'x'), false);
  t.deliver(rid(1), kind::notification, std::string(8, 'y'), false);
  CHECK(t.replay_size() == 1);
}

TEST_CASE("event ids parse back; anything else does not") {
  CHECK(parse_event_id("12_34") == std::make_pair(uint64_t{12}, uint64_t{34}));
  CHECK_FALSE(parse_event_id("12"));
  CHECK_FALSE(parse_event_id("a_1"));
  CHECK_FALSE(parse_event_id("1_2x"));
  CHECK_FALSE(parse_event_id("_"));
}

} // TEST_SUITE
