#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/gateway.hpp"
#include "actors/node.hpp"
#include "protocol/engine.hpp"
#include "tools/tool_sets.hpp"

using namespace mcpvisor;
using namespace std::chrono_literals;
using protocol::route_kind;

namespace {

/// A channel that keeps what it is sent and lets a test wait for it.
struct mailbox_channel : actors::channel {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<actors::reply> replies;

  void send(actors::reply r) override {
    std::lock_guard<std::mutex> guard{mtx};
    replies.push_back(std::move(r));
    cv.notify_all();
  }
  void open_stream(std::string_view, int) override {
    // nop
  }
  void event(std::string_view, protocol::message_kind kind, std::string json) override {
    send(actors::reply{kind, 200, std::move(json), {}});
  }
  void close() override {
    // nop
  }
  bool alive() const override {
    return true;
  }

  /// The `n`th reply, waiting up to 5 s for it.
  actors::reply wait(size_t n = 0) {
    std::unique_lock<std::mutex> lock{mtx};
    REQUIRE(cv.wait_for(lock, 5s, [&] { return replies.size() > n; }));
    return replies[n];
  }
};

std::unique_ptr<protocol::message> decoded(std::string text) {
  auto m = std::make_unique<protocol::message>();
  REQUIRE_FALSE(protocol::decode(std::move(text), *m));
  return m;
}

protocol::route to(route_kind kind, std::string_view sid = {}, bool request = true) {
  protocol::route r;
  r.kind = kind;
  r.session_id = sid;
  r.request = request;
  return r;
}

struct fixture {
  fixture() : cat(protocol::server_info{}), srv(cat, protocol::engine_config{}) {
    tools::tool_set set;
    tools::tool_set_options opts;
    REQUIRE_FALSE(tools::add_default_set(cat, set, opts));
    cfg.scheduler_threads = 2;
    cfg.runtime.tree.meta_shards = 2;
    cfg.runtime.tree.shards_per_meta = 2;
    n = std::make_unique<actors::node>(cfg, &srv);
    REQUIRE_FALSE(n->start());
    gw = std::make_unique<actors::gateway>(n->rt());
  }

  protocol::catalog cat;
  protocol::server_context srv;
  actors::node_config cfg;
  std::unique_ptr<actors::node> n;
  std::unique_ptr<actors::gateway> gw;
};

const std::string init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

} // namespace

TEST_SUITE("gateway") {

TEST_CASE("initialize starts a session that later messages reach by id") {
  fixture f;
  auto ch = std::make_shared<mailbox_channel>();
  std::string sid;
  REQUIRE(f.gw->submit(to(route_kind::initialize), decoded(init), {ch, false, nullptr, &sid})
          == actors::gateway::result::ok);
  auto hello = ch->wait();
  CHECK(hello.kind == protocol::message_kind::result);
  CHECK(hello.session_id == sid); // announced with the answer to initialize
  CHECK(f.gw->known(sid));
  CHECK(f.gw->sessions() == 1);
  CHECK(f.gw->submit(to(route_kind::session, sid, false),
                     decoded(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"), {})
        == actors::gateway::result::ok);
  auto call = std::make_shared<mailbox_channel>();
  REQUIRE(f.gw->submit(to(route_kind::session, sid),
                       decoded(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}})"),
                       {call})
          == actors::gateway::result::ok);
  auto sum = call->wait();
  CHECK(sum.kind == protocol::message_kind::result);
  CHECK(sum.json.find("5") != std::string::npos);
  // DELETE ends it: its id is unknown from then on
  CHECK(f.gw->submit(to(route_kind::end_session, sid, false), nullptr, {})
        == actors::gateway::result::ok);
  for (int i = 0; i < 250 && f.gw->known(sid); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK_FALSE(f.gw->known(sid));
  CHECK(f.gw->submit(to(route_kind::session, sid), decoded(R"({"jsonrpc":"2.0","id":3,"method":"ping"})"),
                     {std::make_shared<mailbox_channel>()})
        == actors::gateway::result::unknown_session);
}

TEST_CASE("unknown and malformed session ids are unknown sessions") {
  fixture f;
  auto ping = R"({"jsonrpc":"2.0","id":3,"method":"ping"})";
  CHECK(f.gw->submit(to(route_kind::session, "AAAAAAAAAAAAAAAAAAAAAA"), decoded(ping), {})
        == actors::gateway::result::unknown_session);
  CHECK(f.gw->submit(to(route_kind::session, "../../etc/passwd"), decoded(ping), {})
        == actors::gateway::result::unknown_session);
  CHECK(f.gw->submit(to(route_kind::stream, "nope"), nullptr, {})
        == actors::gateway::result::unknown_session);
  auto r = actors::gateway::refusal(actors::gateway::result::unknown_session,
                                    protocol::request_id{int64_t{3}});
  CHECK(r.status == 404);
  CHECK(actors::gateway::refusal(actors::gateway::result::full, {}).status == 503);
}

TEST_CASE("stateless requests are served by any stateless actor") {
  fixture f;
  auto ch = std::make_shared<mailbox_channel>();
  REQUIRE(f.gw->submit(to(route_kind::stateless),
                       decoded(R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})"),
                       {ch})
          == actors::gateway::result::ok);
  auto list = ch->wait();
  CHECK(list.kind == protocol::message_kind::result);
  CHECK(list.json.find("\"echo\"") != std::string::npos);
}

TEST_CASE("the session limit refuses initialize") {
  fixture f;
  f.n.reset();
  f.cfg.runtime.max_sessions = 1;
  f.n = std::make_unique<actors::node>(f.cfg, &f.srv);
  REQUIRE_FALSE(f.n->start());
  f.gw = std::make_unique<actors::gateway>(f.n->rt());
  auto a = std::make_shared<mailbox_channel>();
  CHECK(f.gw->submit(to(route_kind::initialize), decoded(init), {a})
        == actors::gateway::result::ok);
  CHECK(f.gw->submit(to(route_kind::initialize), decoded(init),
                     {std::make_shared<mailbox_channel>()})
        == actors::gateway::result::full);
}

} // TEST_SUITE
