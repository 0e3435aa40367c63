#include <doctest/doctest.h>

#include <thread>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

const std::string ping = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";
const std::string list = R"({"jsonrpc":"2.0","id":8,"method":"tools/list"})";

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string raw(const std::string& method, const std::string& headers,
                const std::string& body = {}) {
  return method + " /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
         + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

} // namespace

TEST_SUITE("streamable http: status codes") {

TEST_CASE("400 without a session id, with a bad version header, or bad JSON") {
  server_fixture s;
  auto missing = s.request(http_client::post(list));
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(has(missing->body, "Mcp-Session-Id"));
  CHECK(has(missing->body, "\"jsonrpc\":\"2.0\""));
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto bad_version = s.request(http_client::post(list, "Mcp-Session-Id: " + sid
                                                         + "\r\nMCP-Protocol-Version: 1999-01-01\r\n"));
  CHECK(bad_version->status == 400);
  // an older revision the server supports is fine after initialization
  auto older = s.request(http_client::post(list, s.session_headers(sid, "2025-03-26")));
  CHECK(older->status == 200);
  auto garbage = s.request(http_client::post("{not json", s.session_headers(sid)));
  CHECK(garbage->status == 400);
  CHECK(has(garbage->body, "-32700"));
  auto batch = s.request(http_client::post("[" + ping + "]", s.session_headers(sid)));
  CHECK(batch->status == 400);
  CHECK(has(batch->body, "-32600"));
  CHECK(s.healthy());
}

TEST_CASE("404 for unknown and ended sessions and other paths") {
  server_fixture s;
  auto unknown = s.request(http_client::post(ping, s.session_headers("AAAAAAAAAAAAAAAAAAAAAA")));
  CHECK(unknown->status == 404);
  auto nonsense = s.request(http_client::post(ping, s.session_headers("../../etc/passwd")));
  CHECK(nonsense->status == 404);
  auto sid = s.initialize();
  auto del = s.request(raw("DELETE", s.session_headers(sid)));
  CHECK(del->status == 204);
  std::this_thread::sleep_for(50ms);
  auto after = s.request(http_client::post(ping, s.session_headers(sid)));
  CHECK(after->status == 404);
  auto del2 = s.request(raw("DELETE", s.session_headers(sid)));
  CHECK(del2->status == 404);
  auto path = s.request("POST /other HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(path->status == 404);
  CHECK(has(path->body, "/mcp"));
}

TEST_CASE("403 for hostile Origin or Host (DNS rebinding)") {
  server_fixture s;
  auto origin = s.request(http_client::post(ping, "Origin: http://evil.example.com\r\n"));
  CHECK(origin->status == 403);
  auto host = s.request(http_client::post(ping, {}, "evil.example.com"));
  CHECK(host->status == 403);
  auto null_origin = s.request(http_client::post(ping, "Origin: null\r\n"));
  CHECK(null_origin->status == 403);
  auto good = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}})",
    "Origin: http://localhost:3000\r\n", "localhost:" + std::to_string(s.port)));
  CHECK(good->status == 200);
}

TEST_CASE("403 unless configured: an allowed extra host") {
  server_fixture s{{"--allowed-host", "mcp.internal"}};
  auto ok = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}})",
    {}, "mcp.internal:443"));
  CHECK(ok->status == 200);
}

TEST_CASE("405 for other methods, and for GET/DELETE of a stateless client") {
  server_fixture s;
  auto put = s.request(raw("PUT", "Content-Type: application/json\r\n", ping));
  CHECK(put->status == 405);
  CHECK(has(put->header("allow"), "POST"));
  auto get = s.request(raw("GET", "Accept: text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"));
  CHECK(get->status == 405);
  auto del = s.request(raw("DELETE", "MCP-Protocol-Version: 2026-07-28\r\n"));
  CHECK(del->status == 405);
  auto get_legacy = s.request(raw("GET", "Accept: text/event-stream\r\n"));
  CHECK(get_legacy->status == 400);
}

TEST_CASE("406 without both media types in Accept; 415 without JSON content") {
  server_fixture s;
  auto json_only = s.request(raw("POST", "Content-Type: application/json\r\nAccept: application/json\r\n", ping));
  CHECK(json_only->status == 406);
  auto none = s.request(raw("POST", "Content-Type: application/json\r\n", ping));
  CHECK(none->status == 406);
  auto wildcard = s.request(raw("POST", "Content-Type: application/json\r\nAccept: */*\r\n",
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}})"));
  CHECK(wildcard->status == 200);
  auto text = s.request(raw("POST", "Content-Type: text/plain\r\nAccept: application/json, text/event-stream\r\n", ping));
  CHECK(text->status == 415);
  auto sid = s.initialize();
  auto get = s.request(raw("GET", s.session_headers(sid) + "Accept: application/json\r\n"));
  CHECK(get->status == 406);
}

TEST_CASE("413 for an oversized body, 431 for oversized headers") {
  server_fixture s{{"--max-body-bytes", "1024", "--max-header-bytes", "2048"}};
  std::string big(2000, 'x');
  auto body = s.request(http_client::post(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" + big + "\"}}"));
  REQUIRE(body);
  CHECK(body->status == 413);
  auto headers = s.request(http_client::post(ping, "X-Filler: " + std::string(4000, 'y') + "\r\n"));
  REQUIRE(headers);
  CHECK(headers->status == 431);
  CHECK(s.healthy());
}

TEST_CASE("503 beyond the session limit, with Retry-After") {
  server_fixture s{{"--max-sessions", "2"}};
  CHECK_FALSE(s.initialize().empty());
  CHECK_FALSE(s.initialize().empty());
  auto third = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}})"));
  CHECK(third->status == 503);
  CHECK(third->header("retry-after") == "1");
  CHECK(has(third->body, "too many sessions"));
}

TEST_CASE("202 for notifications and responses") {
  server_fixture s;
  auto sid = s.initialize();
  auto n = s.request(http_client::post(R"({"jsonrpc":"2.0","method":"notifications/roots/list_changed"})",
                                       s.session_headers(sid)));
  CHECK(n->status == 202);
  CHECK(n->body.empty());
  auto resp = s.request(http_client::post(R"({"jsonrpc":"2.0","id":99,"result":{}})", s.session_headers(sid)));
  CHECK(resp->status == 202);
}

TEST_CASE("malformed, truncated, oversized and non-UTF-8 bodies leave the server healthy") {
  server_fixture s{{"--max-body-bytes", "65536"}};
  auto sid = s.initialize();
  for (std::string body : {std::string{"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\""},
                           std::string{"\xff\xfe\xfd"},
                           std::string{"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc3\x28\"}"},
                           std::string(70000, '['), std::string{"null"},
                           std::string{"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":5}}"}}) {
    auto r = s.request(http_client::post(body, s.session_headers(sid)));
    REQUIRE(r);
    CHECK((r->status == 400 || r->status == 413 || r->status == 200));
    CHECK(has(r->body, "\"error\""));
  }
  // a body shorter than its Content-Length: the read times out or the
  // connection ends; nothing is processed
  {
    http_client c{s.port};
    c.send_raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"");
  }
  // not HTTP at all
  {
    http_client c{s.port};
    c.send_raw("\x16\x03\x01 hello tls?\r\n\r\n");
    auto r = c.read_response(2s);
    if (r)
      CHECK(r->status == 400);
  }
  CHECK(s.healthy());
  auto ping_after = s.request(http_client::post(ping, s.session_headers(sid)));
  CHECK(ping_after->status == 200);
}

TEST_CASE("keep-alive serves several requests on one connection, pipelined too") {
  server_fixture s;
  auto sid = s.initialize();
  http_client c{s.port};
  auto req = http_client::post(ping, s.session_headers(sid));
  REQUIRE(c.send_raw(req + req + req));
  for (int i = 0; i < 3; ++i) {
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(has(r->body, "\"id\":7"));
  }
}

TEST_CASE("an idle connection is closed after the read timeout") {
  server_fixture s{{"--read-timeout", "1"}};
  http_client c{s.port};
  c.send_raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  CHECK(c.closed_by_peer(5s));
}

} // TEST_SUITE

TEST_SUITE("streamable http: sessions and SSE") {

TEST_CASE("initialize answers with a visible-ASCII session id") {
  server_fixture s;
  auto sid = s.initialize();
  REQUIRE(sid.size() == 32);
  for (char c : sid)
    CHECK((c >= 0x21 && c <= 0x7e));
}

TEST_CASE("SSE answers: priming event for 2025-11-25 clients, none for older ones") {
  server_fixture s;
  for (auto [version, primes] : {std::pair{"2025-11-25", true}, std::pair{"2025-06-18", false}}) {
    CAPTURE(version);
    auto sid = s.initialize(version);
    http_client c{s.port};
    c.send_raw(http_client::post(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":"p"}}})",
      s.session_headers(sid, version)));
    auto head = c.read_head();
    REQUIRE(head);
    CHECK(head->header("content-type") == "text/event-stream");
    auto events = c.read_events(5, 5s);
    REQUIRE(events.size() >= 4);
    bool primed = has(events[0], "retry:") && has(events[0], "data: ") && !has(events[0], "jsonrpc");
    CHECK(primed == primes);
    CHECK(has(events.back(), "\"id\":5"));
    // event ids name their stream: <stream>_<seq>
    CHECK(has(events[primes ? 1 : 0], "id: "));
  }
}

TEST_CASE("a stream closed early resumes with GET and Last-Event-ID") {
  server_fixture s;
  auto sid = s.initialize();
  http_client c{s.port};
  c.send_raw(http_client::post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_reconnection"}})",
                               s.session_headers(sid)));
  auto head = c.read_head();
  REQUIRE(head);
  auto events = c.read_events(5, 3s); // the priming event, then the stream ends
  REQUIRE(events.size() == 1);
  auto id_line = events[0].substr(4, events[0].find('\n') - 4);
  std::this_thread::sleep_for(300ms); // the tool finishes meanwhile
  http_client g{s.port};
  g.send_raw(raw("GET", s.session_headers(sid) + "Accept: text/event-stream\r\nLast-Event-ID: " + id_line + "\r\n"));
  auto ghead = g.read_head();
  REQUIRE(ghead);
  CHECK(ghead->status == 200);
  auto replay = g.read_events(1, 3s);
  REQUIRE(replay.size() == 1);
  CHECK(has(replay[0], "Reconnection test completed successfully"));
  // an id that names no stream of this session
  auto bad = s.request(raw("GET", s.session_headers(sid) + "Accept: text/event-stream\r\nLast-Event-ID: 999_1\r\n"));
  CHECK(bad->status == 400);
}

TEST_CASE("at most one GET stream per session; list changes arrive on it") {
  server_fixture s;
  auto sid = s.initialize();
  http_client g{s.port};
  g.send_raw(raw("GET", s.session_headers(sid) + "Accept: text/event-stream\r\n"));
  auto head = g.read_head();
  REQUIRE(head);
  CHECK(head->status == 200);
  auto primed = g.read_events(1, 2s);
  REQUIRE(primed.size() == 1);
  auto second = s.request(raw("GET", s.session_headers(sid) + "Accept: text/event-stream\r\n"));
  CHECK(second->status == 409);
  auto call = s.request(http_client::post(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_trigger_tool_change"}})",
                                          s.session_headers(sid)));
  CHECK(call->status == 200);
  auto change = g.read_events(1, 3s);
  REQUIRE(change.size() == 1);
  CHECK(has(change[0], "notifications/tools/list_changed"));
}

TEST_CASE("a sampling request goes out on the call's stream and its answer comes back by POST") {
  server_fixture s;
  auto sid = s.initialize("2025-11-25", R"({"sampling":{}})");
  http_client c{s.port};
  c.send_raw(http_client::post(R"({"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"test_sampling","arguments":{"prompt":"hi"}}})",
                               s.session_headers(sid)));
  REQUIRE(c.read_head());
  auto events = c.read_events(2, 5s);
  REQUIRE(events.size() == 2);
  CHECK(has(events[1], "sampling/createMessage"));
  auto idpos = events[1].find("\"id\":");
  auto req_id = std::stol(events[1].substr(idpos + 5));
  auto answer = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":)" + std::to_string(req_id)
      + R"(,"result":{"role":"assistant","content":{"type":"text","text":"yo"},"model":"m"}})",
    s.session_headers(sid)));
  CHECK(answer->status == 202);
  auto done = c.read_events(1, 5s);
  REQUIRE(done.size() == 1);
  CHECK(has(done[0], "LLM response: yo"));
}

TEST_CASE("sessions that are never used again expire") {
  server_fixture s{{"--idle-timeout", "1"}};
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  std::this_thread::sleep_for(3s);
  auto r = s.request(http_client::post(ping, s.session_headers(sid)));
  CHECK(r->status == 404);
}

} // TEST_SUITE

TEST_SUITE("streamable http: stateless 2026-07-28") {

std::string meta() {
  return R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}})";
}

TEST_CASE("a stateless request needs no session and gets no session id") {
  server_fixture s;
  auto r = s.request(http_client::post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)" + meta() + "}}",
                                       "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\n"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("mcp-session-id").empty());
  CHECK(has(r->body, "\"resultType\":\"complete\""));
}

TEST_CASE("header mismatches are 400 with -32020; removed methods 404") {
  server_fixture s;
  auto mismatch = s.request(http_client::post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)" + meta() + "}}",
                                              "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: prompts/list\r\n"));
  CHECK(mismatch->status == 400);
  CHECK(has(mismatch->body, "-32020"));
  auto removed = s.request(http_client::post(R"({"jsonrpc":"2.0","id":2,"method":"ping","params":{)" + meta() + "}}",
                                             "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\n"));
  CHECK(removed->status == 404);
  CHECK(has(removed->body, "-32601"));
}

TEST_CASE("subscriptions/listen is a stream: acknowledgement, then the changes asked for") {
  server_fixture s;
  http_client l{s.port};
  l.send_raw(http_client::post(R"({"jsonrpc":"2.0","id":"sub-1","method":"subscriptions/listen","params":{)" + meta()
                                 + R"(,"notifications":{"toolsListChanged":true}}})",
                               "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: subscriptions/listen\r\n"));
  auto head = l.read_head();
  REQUIRE(head);
  CHECK(head->header("content-type") == "text/event-stream");
  auto ack = l.read_events(1, 3s);
  REQUIRE(ack.size() == 1);
  CHECK(has(ack[0], "notifications/subscriptions/acknowledged"));
  CHECK(has(ack[0], "\"io.modelcontextprotocol/subscriptionId\":\"sub-1\""));
  auto trigger = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_trigger_prompt_change",)" + meta() + "}}",
    "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: test_trigger_prompt_change\r\n"));
  CHECK(trigger->status == 200);
  auto trigger2 = s.request(http_client::post(
    R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"test_trigger_tool_change",)" + meta() + "}}",
    "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: test_trigger_tool_change\r\n"));
  CHECK(trigger2->status == 200);
  auto change = l.read_events(1, 3s);
  REQUIRE(change.size() == 1);
  CHECK(has(change[0], "notifications/tools/list_changed")); // not the prompts change
  CHECK(has(change[0], "sub-1"));
}

TEST_CASE("closing the response stream cancels a stateless call") {
  // one handler thread: if the abandoned call kept running, the next one
  // would wait behind it for 30 s
  server_fixture s{{"--workers", "1"}, "default"};
  auto countdown = [](int seconds) {
    return http_client::post(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"countdown","arguments":{"seconds":)"
        + std::to_string(seconds)
        + R"(},"_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})",
      "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: countdown\r\n");
  };
  {
    http_client c{s.port};
    c.send_raw(countdown(30));
    REQUIRE(c.read_head());
    CHECK(c.read_events(1, 3s).size() == 1);
  } // the client goes away
  auto start = std::chrono::steady_clock::now();
  http_client next{s.port};
  next.send_raw(countdown(1));
  REQUIRE(next.read_head(5s));
  auto events = next.read_events(3, 5s);
  REQUIRE_FALSE(events.empty());
  CHECK(has(events.back(), "waited 1 s"));
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}

} // TEST_SUITE
