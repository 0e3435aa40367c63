#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// The server with its admin endpoint on a port of its own.
struct admin_fixture {
  explicit admin_fixture(std::vector<std::string> extra = {},
                         std::string tools = "conformance")
    : admin_port(free_port()), s(with_admin(extra, admin_port), tools) {
    // nop
  }

  static std::vector<std::string> with_admin(std::vector<std::string> extra,
                                             int port) {
    extra.push_back("--admin");
    extra.push_back("127.0.0.1:" + std::to_string(port));
    return extra;
  }

  std::optional<http_response> admin(const std::string& method,
                                     const std::string& path,
                                     const std::string& body = {},
                                     const std::string& extra = {}) {
    http_client c{admin_port};
    REQUIRE(c.connected());
    REQUIRE(c.send_raw(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       + extra + "Content-Length: " + std::to_string(body.size())
                       + "\r\n\r\n" + body));
    return c.read_response();
  }

  std::optional<http_response> chaos(const std::string& order) {
    return admin("POST", "/admin/chaos", order);
  }

  int admin_port;
  server_fixture s;
};

std::string call(int id, const std::string& tool, const std::string& args = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":{"name":")" + tool
         + R"(","arguments":)" + args + "}}";
}

const std::string ping = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";

/// Polls `f` every 20 ms until it is true or 5 s passed.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 250; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

} // namespace

TEST_SUITE("admin endpoint") {

TEST_CASE("health, readiness and Prometheus metrics") {
  admin_fixture a;
  auto health = a.admin("GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(has(health->body, "\"ok\""));
  auto ready = a.admin("GET", "/readyz");
  CHECK(ready->status == 200);
  auto sid = a.s.initialize();
  for (int i = 0; i < 3; ++i)
    a.s.request(http_client::post(call(10 + i, "test_simple_text"),
                                  a.s.session_headers(sid)));
  auto bad = a.s.request(http_client::post(call(20, "no_such_tool"), a.s.session_headers(sid)));
  CHECK(bad->status == 200);
  auto m = a.admin("GET", "/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(has(m->header("content-type"), "text/plain"));
  CHECK(has(m->body, "mcpvisor_requests_total{method=\"tools/call\",outcome=\"result\"} 3"));
  CHECK(has(m->body, "mcpvisor_requests_total{method=\"tools/call\",outcome=\"error\"} 1"));
  CHECK(has(m->body, "mcpvisor_requests_total{method=\"initialize\",outcome=\"result\"} 1"));
  CHECK(has(m->body, "mcpvisor_request_duration_seconds_bucket{method=\"tools/call\",le=\"+Inf\"} 4"));
  CHECK(has(m->body, "mcpvisor_request_duration_seconds_count{method=\"tools/call\"} 4"));
  CHECK(has(m->body, "mcpvisor_sessions 1"));
  CHECK(has(m->body, "mcpvisor_andon_pulled 0"));
  CHECK(has(m->body, "mcpvisor_restarts_total{level=\"session\"} 0"));
  CHECK(has(m->body, "process_resident_memory_bytes "));
  CHECK(has(m->body, "process_open_fds "));
}

TEST_CASE("the tree: levels, strategies, and sessions counted per shard") {
  admin_fixture a{{"--meta-shards", "2", "--shards", "3"}};
  for (int i = 0; i < 5; ++i)
    REQUIRE_FALSE(a.s.initialize().empty());
  auto t = a.admin("GET", "/admin/tree?depth=3");
  REQUIRE(t);
  CHECK(t->status == 200);
  CHECK(has(t->body, R"("id":"root","kind":"supervisor","strategy":"one_for_one")"));
  CHECK(has(t->body, R"("id":"meta-1","kind":"supervisor")"));
  CHECK(has(t->body, R"("id":"shard-1-2","kind":"supervisor","strategy":"simple_one_for_one")"));
  CHECK(has(t->body, R"("id":"andon","kind":"worker")"));
  // five sessions counted, none listed
  size_t total = 0;
  for (size_t at = t->body.find("\"sessions\":"); at != std::string::npos;
       at = t->body.find("\"sessions\":", at + 1))
    total += std::stoul(t->body.substr(at + 11));
  CHECK(total == 5);
  CHECK_FALSE(has(t->body, "\"id\":\"session\""));
  auto shallow = a.admin("GET", "/admin/tree?depth=0");
  CHECK(shallow->status == 200);
  CHECK_FALSE(has(shallow->body, "meta-0"));
  auto bad = a.admin("GET", "/admin/tree?depth=x");
  CHECK(bad->status == 400);
}

TEST_CASE("one shard's sessions, paginated") {
  admin_fixture a{{"--meta-shards", "1", "--shards", "1"}};
  std::vector<std::string> ids;
  for (int i = 0; i < 105; ++i) {
    ids.push_back(a.s.initialize());
    REQUIRE_FALSE(ids.back().empty());
  }
  auto first = a.admin("GET", "/admin/tree/0/0");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(has(first->body, R"("revision":"2025-11-25")"));
  CHECK(has(first->body, R"("client":"it")"));
  CHECK(has(first->body, R"("in_flight":0)"));
  CHECK(has(first->body, R"("state":"live")"));
  // idle sessions sleep after initialize and are described from their
  // checkpoint
  CHECK(has(first->body, R"("asleep":true)"));
  auto at = first->body.find("\"next_cursor\":\"");
  REQUIRE(at != std::string::npos);
  auto cursor = first->body.substr(at + 15, 32);
  auto second = a.admin("GET", "/admin/tree/0/0?cursor=" + cursor);
  REQUIRE(second);
  CHECK(has(second->body, "\"next_cursor\":null"));
  // 105 ids over the two pages, each once
  size_t seen = 0;
  for (auto& id : ids)
    seen += (has(first->body, id) ? 1 : 0) + (has(second->body, id) ? 1 : 0);
  CHECK(seen == 105);
  CHECK(a.admin("GET", "/admin/tree/0/7")->status == 404);
  CHECK(a.admin("GET", "/admin/tree/0/0?cursor=..%2F..%2Fetc")->status == 400);
  CHECK(a.admin("GET", "/admin/tree/x/0")->status == 404);
}

TEST_CASE("the andon cord pulled by hand refuses new work fast and lets "
          "accepted work finish") {
  admin_fixture a{{}, "drill"};
  auto sid = a.s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto headers = a.s.session_headers(sid);
  // a call that is under way when the cord is pulled
  http_client slow{a.s.port};
  REQUIRE(slow.send_raw(http_client::post(call(30, "sleep", R"({"ms":400})"), headers)));
  std::this_thread::sleep_for(100ms);
  auto pulled = a.admin("POST", "/admin/andon", R"({"action":"pull","reason":"maintenance"})");
  REQUIRE(pulled);
  CHECK(pulled->status == 200);
  CHECK(has(pulled->body, R"("pulled":true,"manual":true,"reason":"maintenance")"));
  // a new connection is closed at once
  http_client late{a.s.port};
  CHECK(late.closed_by_peer(2s));
  // the call in flight completes
  auto finished = slow.read_response();
  REQUIRE(finished);
  CHECK(has(finished->body, "\"text\":\"slept\""));
  // a new request on an open connection: 503, Retry-After, JSON-RPC error
  REQUIRE(slow.send_raw(http_client::post(ping, headers)));
  auto r = slow.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("retry-after") == "1");
  CHECK(has(r->body, "\"id\":7"));
  CHECK(has(r->body, "overloaded"));
  // a notification still passes: it finishes accepted work
  REQUIRE(slow.send_raw(http_client::post(
    R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})", headers)));
  auto n = slow.read_response();
  REQUIRE(n);
  CHECK(n->status == 202);
  CHECK(a.admin("GET", "/readyz")->status == 503);
  // the monitor does not release a cord pulled by hand
  std::this_thread::sleep_for(300ms);
  CHECK(has(a.admin("GET", "/admin/andon")->body, "\"pulled\":true"));
  auto released = a.admin("POST", "/admin/andon", R"({"action":"release"})");
  CHECK(has(released->body, "\"pulled\":false"));
  CHECK(has(released->body, R"("action":"pull","manual":true,"reason":"maintenance")"));
  REQUIRE(slow.send_raw(http_client::post(ping, headers)));
  auto ok = slow.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(a.admin("GET", "/readyz")->status == 200);
  auto m = a.admin("GET", "/metrics");
  CHECK(has(m->body, "mcpvisor_andon_pulls_total 1"));
  CHECK(has(m->body, "mcpvisor_requests_total{method=\"ping\",outcome=\"refused\"} 1"));
  CHECK(has(m->body, "mcpvisor_connections_total{result=\"refused\"} 1"));
  CHECK(a.admin("POST", "/admin/andon", R"({"action":"yank"})")->status == 400);
  CHECK(a.admin("POST", "/admin/andon", "not json")->status == 400);
}

TEST_CASE("chaos: a killed session, shard or meta-shard comes back with its "
          "sessions, ids and subscriptions") {
  admin_fixture a{{"--meta-shards", "1", "--shards", "1"}};
  auto sid = a.s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto headers = a.s.session_headers(sid);
  auto sub = a.s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"test://watched-resource"}})",
    headers));
  REQUIRE(sub);
  CHECK(sub->status == 200);
  http_client stream{a.s.port};
  REQUIRE(stream.send_raw("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                          + headers + "\r\n"));
  auto head = stream.read_head();
  REQUIRE(head);
  CHECK(head->status == 200);
  auto killed = a.chaos(R"({"target":"session","id":")" + sid + R"(","reason":"drill"})");
  REQUIRE(killed);
  CHECK(killed->status == 200);
  CHECK(has(killed->body, sid));
  CHECK(has(killed->body, "chaos: drill"));
  auto shard = a.chaos(R"({"target":"shard","meta":0,"shard":0})");
  CHECK(has(shard->body, R"("supervisor":"shard-0-0")"));
  // readyz can answer before the meta-shard has even seen its shard's exit:
  // wait for the restart itself, or the meta-shard's kill below could come
  // first and make the two restarts one
  CHECK(eventually([&] {
    return has(a.admin("GET", "/metrics")->body,
               "mcpvisor_restarts_total{level=\"shard\"} 1");
  }));
  CHECK(eventually([&] { return a.admin("GET", "/readyz")->status == 200; }));
  auto meta = a.chaos(R"({"target":"meta_shard","meta":0})");
  CHECK(has(meta->body, R"("supervisor":"meta-0")"));
  CHECK(eventually([&] { return a.admin("GET", "/readyz")->status == 200; }));
  // the same session answers, and its GET stream still carries updates of
  // the resource it subscribed to (they come every 3 s)
  auto p = a.s.request(http_client::post(ping, headers));
  REQUIRE(p);
  CHECK(p->status == 200);
  auto events = stream.read_events(2, 8s);
  bool updated = false;
  for (auto& e : events)
    updated = updated || has(e, "notifications/resources/updated");
  CHECK(updated);
  auto m = a.admin("GET", "/metrics");
  INFO(m->body.substr(m->body.find("mcpvisor_restarts_total"), 400));
  CHECK(has(m->body, "mcpvisor_restarts_total{level=\"shard\"} 2"));
  CHECK(has(m->body, "mcpvisor_restarts_total{level=\"meta_shard\"} 1"));
  auto t = a.admin("GET", "/admin/tree?depth=1");
  CHECK(has(t->body, R"("id":"meta-0","kind":"supervisor","strategy":"one_for_one","intensity":5,"period_ms":10000,"restarts":1)"));
}

TEST_CASE("chaos: a fraction of sessions, repeated, and orders it refuses") {
  admin_fixture a;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(a.s.initialize());
  auto r = a.chaos(R"({"target":"sessions","fraction":0.3,"every_ms":100,"for_ms":350})");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(has(r->body, "\"session_count\":3"));
  CHECK(has(r->body, R"("repeat":{"every_ms":100,"for_ms":350})"));
  // the rounds after the first: 3 more each, then it stops by itself
  CHECK(eventually([&] {
    return has(a.admin("GET", "/metrics")->body,
               "mcpvisor_restarts_total{level=\"session\"} 12");
  }));
  std::this_thread::sleep_for(300ms);
  CHECK(has(a.admin("GET", "/metrics")->body,
            "mcpvisor_restarts_total{level=\"session\"} 12"));
  for (auto& id : ids) {
    auto p = a.s.request(http_client::post(ping, a.s.session_headers(id)));
    REQUIRE(p);
    CHECK(p->status == 200);
  }
  CHECK(a.chaos(R"({"target":"session","id":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})")->status == 404);
  CHECK(a.chaos(R"({"target":"session","id":"../etc/passwd"})")->status == 400);
  CHECK(a.chaos(R"({"target":"sessions","fraction":1.5})")->status == 400);
  CHECK(a.chaos(R"({"target":"shard","meta":99,"shard":0})")->status == 400);
  CHECK(a.chaos(R"({"target":"everything"})")->status == 400);
  CHECK(a.chaos(R"({"target":"sessions","fraction":0.1,"every_ms":1})")->status == 400);
  CHECK(a.chaos("[1,2")->status == 400);
}

TEST_CASE("admin HTTP rules: token, Host and Origin, methods, paths, sizes") {
  admin_fixture a{{"--admin-token", "s3cret"}};
  CHECK(a.admin("GET", "/healthz")->status == 401);
  CHECK(a.admin("GET", "/healthz", {}, "Authorization: Bearer wrong!\r\n")->status == 401);
  CHECK(a.admin("GET", "/healthz", {}, "Authorization: Bearer s3cret\r\n")->status == 200);
  // the page itself holds no data and needs no token
  auto page = a.admin("GET", "/admin/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(has(page->header("content-type"), "text/html"));
  CHECK(has(page->body, "<title>mcpvisor"));
  auto auth = std::string{"Authorization: Bearer s3cret\r\n"};
  http_client evil{a.admin_port};
  evil.send_raw("POST /admin/chaos HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                + auth + "Content-Length: 2\r\n\r\n{}");
  CHECK(evil.read_response()->status == 403);
  http_client rebinding{a.admin_port};
  rebinding.send_raw("GET /healthz HTTP/1.1\r\nHost: evil.example\r\n" + auth + "\r\n");
  CHECK(rebinding.read_response()->status == 403);
  auto wrong = a.admin("DELETE", "/admin/andon", {}, auth);
  CHECK(wrong->status == 405);
  CHECK(has(wrong->header("allow"), "POST"));
  CHECK(a.admin("GET", "/admin/../../etc/passwd", {}, auth)->status == 404);
  CHECK(a.admin("GET", "/nothing", {}, auth)->status == 404);
  auto big = a.admin("POST", "/admin/chaos", std::string(70000, 'x'), auth);
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(a.admin("GET", "/healthz", {}, auth)->status == 200);
}

TEST_CASE("the admin endpoint refuses to listen beyond loopback without a token") {
  process p{{mcpvisor_binary(), "--listen", "127.0.0.1:0", "--admin",
             "0.0.0.0:" + std::to_string(free_port())}};
  CHECK(p.wait_stderr("--admin-token", 10s));
  auto status = p.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 2);
}

TEST_CASE("--passivate: a sleeping session gives up its actor, stays listed and "
          "comes back on its next message, not as a restart") {
  admin_fixture a{{"--passivate", "--sleep-after", "1", "--meta-shards", "1", "--shards", "1"},
                  "default"};
  auto metrics = [&] { return a.admin("GET", "/metrics")->body; };
  auto sid = a.s.initialize();
  REQUIRE_FALSE(sid.empty());
  // it sleeps once initialized, and with --passivate its actor goes
  CHECK(eventually([&] { return has(metrics(), "mcpvisor_sessions_passive 1"); }));
  CHECK(has(metrics(), "mcpvisor_sessions 1"));
  // the tree counts it with its shard; the shard's page describes it from
  // its checkpoint
  auto tree = a.admin("GET", "/admin/tree");
  REQUIRE(tree);
  CHECK(has(tree->body, R"("sessions":1,"passive":1)"));
  auto page = a.admin("GET", "/admin/tree/0/0");
  REQUIRE(page);
  CHECK(has(page->body, sid));
  CHECK(has(page->body, R"("state":"passive")"));
  CHECK(has(page->body, R"("revision":"2025-11-25")"));
  CHECK(has(page->body, R"("client":"it")"));
  // its next message starts an actor that continues from the checkpoint
  auto r = a.s.request(http_client::post(call(2, "echo", R"({"text":"back"})"),
                                         a.s.session_headers(sid)));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(has(r->body, R"("text":"back")"));
  CHECK(has(metrics(), "mcpvisor_sessions_passive 0"));
  CHECK(has(metrics(), R"(mcpvisor_restarts_total{level="session"} 0)"));
  // a crash of the live actor still restarts it from the checkpoint
  auto killed = a.chaos(R"({"target":"sessions","fraction":1})");
  REQUIRE(killed);
  CHECK(has(killed->body, "\"session_count\":1"));
  CHECK(eventually([&] {
    return has(metrics(), R"(mcpvisor_restarts_total{level="session"} 1)");
  }));
  auto again = a.s.request(http_client::post(ping, a.s.session_headers(sid)));
  REQUIRE(again);
  CHECK(has(again->body, R"("result":{})"));
  // ended while passive: DELETE wakes it to end it, and it is gone
  CHECK(eventually([&] { return has(metrics(), "mcpvisor_sessions_passive 1"); }));
  auto del = a.s.request("DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + a.s.session_headers(sid)
                         + "Content-Length: 0\r\n\r\n");
  REQUIRE(del);
  CHECK(del->status == 204);
  CHECK(eventually([&] { return has(metrics(), "mcpvisor_sessions 0"); }));
  auto gone = a.s.request(http_client::post(ping, a.s.session_headers(sid)));
  REQUIRE(gone);
  CHECK(gone->status == 404);
}

} // TEST_SUITE

TEST_SUITE("request logs") {

TEST_CASE("--log-requests writes one structured line per answered request") {
  server_fixture s{{"--log-requests"}};
  auto sid = s.initialize();
  auto r = s.request(http_client::post(call(41, "test_simple_text"), s.session_headers(sid)));
  REQUIRE(r);
  auto line = s.proc->wait_stderr("\"request\":\"41\"", 5s);
  REQUIRE(line);
  CHECK(has(*line, "\"msg\":\"request\""));
  CHECK(has(*line, "\"session\":\"" + sid + "\""));
  CHECK(has(*line, "\"method\":\"tools/call\""));
  CHECK(has(*line, "\"outcome\":\"result\""));
  CHECK(has(*line, "\"duration_us\":\""));
  auto missing = s.request(http_client::post(ping, s.session_headers("AAAAAAAAAAAAAAAAAAAAAA")));
  CHECK(missing->status == 404);
  auto refused = s.proc->wait_stderr("\"outcome\":\"rejected\"", 5s);
  REQUIRE(refused);
  CHECK(has(*refused, "\"method\":\"ping\""));
}

} // TEST_SUITE
