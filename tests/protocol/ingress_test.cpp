#include <doctest/doctest.h>

#include <string>

#include "protocol/ingress.hpp"

using namespace mcpvisor::protocol;

namespace {

const std::string ping = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";
const std::string init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
const std::string notify = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
const std::string response = R"({"jsonrpc":"2.0","id":"s1","result":{}})";
const std::string stateless_call = R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";
const std::string sid = "AAAAAAAAAAAAAAAAAAAAAA";

/// A well-formed POST to /mcp with the usual headers, to vary.
http_request post() {
  http_request r;
  r.method = "POST";
  r.target = "/mcp";
  r.host = "127.0.0.1:8080";
  r.accept = "application/json, text/event-stream";
  r.content_type = "application/json";
  return r;
}

route run(const http_request& req, const std::string& body = ping,
          bool overloaded = false, bool sessions_elsewhere = false) {
  static const http_endpoint ep = [] {
    http_endpoint e;
    e.origins = origin_policy{{"mcp.example.com"}, {"https://app.example.com"}};
    return e;
  }();
  message msg;
  return route_http(ep, req, body, msg, overloaded, sessions_elsewhere);
}

bool says(const route& r, const std::string& text) {
  return r.body.find(text) != std::string::npos;
}

} // namespace

TEST_SUITE("ingress") {

TEST_CASE("404 for other paths, with the endpoint's path in the body") {
  auto req = post();
  req.target = "/other";
  auto r = run(req);
  CHECK(r.kind == route_kind::answer);
  CHECK(r.status == 404);
  CHECK(says(r, "/mcp"));
  req.target = "/mcp?x=1"; // a query is not part of the path
  CHECK(run(req, init).kind == route_kind::initialize);
}

TEST_CASE("403 for a Host or Origin not allowed (DNS rebinding)") {
  auto req = post();
  req.host = "evil.example.com";
  CHECK(run(req).status == 403);
  req = post();
  req.origin = "http://evil.example.com";
  CHECK(run(req).status == 403);
  req.origin = "null";
  CHECK(run(req).status == 403);
  req.origin = "http://localhost:3000";
  CHECK(run(req, init).kind == route_kind::initialize);
  req.origin = "https://app.example.com"; // listed as it is
  CHECK(run(req, init).kind == route_kind::initialize);
  req = post();
  req.host = "MCP.example.com:443"; // configured, any case, any port
  CHECK(run(req, init).kind == route_kind::initialize);
  req.host = "[::1]:8080";
  CHECK(run(req, init).kind == route_kind::initialize);
}

TEST_CASE("405 with Allow for methods other than POST, GET and DELETE") {
  auto req = post();
  req.method = "PUT";
  auto r = run(req);
  CHECK(r.status == 405);
  CHECK(r.allow == "GET, POST, DELETE");
}

TEST_CASE("406 when Accept does not list both JSON and SSE") {
  auto req = post();
  req.accept = "application/json";
  CHECK(run(req).status == 406);
  req.accept = "text/event-stream";
  CHECK(run(req).status == 406);
  req.accept = "*/*";
  CHECK(run(req, init).kind == route_kind::initialize);
  req.accept = "application/*;q=0.9, text/*";
  CHECK(run(req, init).kind == route_kind::initialize);
}

TEST_CASE("415 when Content-Type is not application/json") {
  auto req = post();
  req.content_type = "text/plain";
  CHECK(run(req).status == 415);
  req.content_type = "Application/JSON; charset=utf-8";
  CHECK(run(req, init).kind == route_kind::initialize);
}

TEST_CASE("400 for a body that is not one JSON-RPC message") {
  auto r = run(post(), "{not json");
  CHECK(r.status == 400);
  CHECK(says(r, "-32700"));
  CHECK_FALSE(r.decoded);
  auto batch = run(post(), "[" + ping + "]");
  CHECK(batch.status == 400);
  CHECK(says(batch, "-32600"));
}

TEST_CASE("400 without a session id, unless it is initialize or stateless") {
  auto r = run(post(), ping);
  CHECK(r.status == 400);
  CHECK(says(r, "Mcp-Session-Id"));
  CHECK(r.decoded);
  auto i = run(post(), init);
  CHECK(i.kind == route_kind::initialize);
  CHECK(i.request);
  // a version header that names no session revision makes the request a
  // 2026-07-28 one, whose engine answers -32022 for an unknown version
  auto bad_version = post();
  bad_version.mcp.protocol_version = "1999-01-01";
  CHECK(run(bad_version, init).kind == route_kind::stateless);
}

TEST_CASE("a session message goes to its session; the version header must "
          "be a session one") {
  auto req = post();
  req.session_id = sid;
  auto r = run(req, ping);
  CHECK(r.kind == route_kind::session);
  CHECK(r.session_id == sid);
  CHECK(r.request);
  auto n = run(req, notify);
  CHECK(n.kind == route_kind::session);
  CHECK_FALSE(n.request);
  CHECK(run(req, response).kind == route_kind::session);
  req.mcp.protocol_version = "2025-03-26"; // older, after initialization
  CHECK(run(req, ping).kind == route_kind::session);
  req.mcp.protocol_version = "2026-07-28";
  CHECK(run(req, ping).status == 400);
  req.mcp.protocol_version = "garbage";
  CHECK(run(req, ping).status == 400);
}

TEST_CASE("stateless 2026-07-28 requests: by _meta or by header") {
  auto r = run(post(), stateless_call);
  CHECK(r.kind == route_kind::stateless);
  CHECK(r.request);
  CHECK(r.has_headers);
  auto by_header = post();
  by_header.mcp.protocol_version = "2026-07-28";
  by_header.mcp.has_method = true;
  by_header.mcp.method = "ping";
  auto h = run(by_header, ping);
  CHECK(h.kind == route_kind::stateless);
  CHECK(h.headers.method == "ping");
  // a notification is accepted; a response is not the client's to send
  auto n = run(by_header, notify);
  CHECK(n.kind == route_kind::answer);
  CHECK(n.status == 202);
  CHECK(n.body.empty());
  CHECK(run(by_header, response).status == 400);
}

TEST_CASE("503 for new requests while overloaded; notifications pass") {
  auto r = run(post(), init, true);
  CHECK(r.status == 503);
  CHECK(r.overloaded);
  auto req = post();
  req.session_id = sid;
  CHECK(run(req, notify, true).kind == route_kind::session);
  CHECK(run(req, ping, true).status == 503);
}

TEST_CASE("while overloaded, an initialize passes if another node of the cluster takes it") {
  CHECK(run(post(), init, true, true).kind == route_kind::initialize);
  auto req = post();
  req.session_id = sid;
  CHECK(run(req, ping, true, true).status == 503);
  CHECK(run(post(), ping, true, true).status == 503);
}

TEST_CASE("GET: the session's stream; 400 without a session, 405 for "
          "2026-07-28, 406 without SSE") {
  auto req = post();
  req.method = "GET";
  CHECK(run(req, {}).status == 400);
  req.mcp.protocol_version = "2026-07-28";
  auto r = run(req, {});
  CHECK(r.status == 405);
  CHECK(r.allow == "POST");
  req.mcp.protocol_version = {};
  req.session_id = sid;
  req.accept = "application/json";
  CHECK(run(req, {}).status == 406);
  req.accept = "text/event-stream";
  req.last_event_id = "3_4";
  auto s = run(req, {});
  CHECK(s.kind == route_kind::stream);
  CHECK(s.session_id == sid);
  CHECK(s.last_event_id == "3_4");
}

TEST_CASE("DELETE: ends the session; 400 without one, 405 for 2026-07-28") {
  auto req = post();
  req.method = "DELETE";
  CHECK(run(req, {}).status == 400);
  req.mcp.protocol_version = "2026-07-28";
  CHECK(run(req, {}).status == 405);
  req.mcp.protocol_version = {};
  req.session_id = sid;
  auto r = run(req, {});
  CHECK(r.kind == route_kind::end_session);
  CHECK(r.session_id == sid);
}

TEST_CASE("the answers after submitting") {
  auto gone = unknown_session(request_id{int64_t{9}});
  CHECK(gone.status == 404);
  CHECK(says(gone, "\"id\":9"));
  auto busy = unavailable({}, "retry");
  CHECK(busy.status == 503);
}

TEST_CASE("stdio: initialize first, ping always, stateless by _meta") {
  message m;
  CHECK(route_stdio(init, m, false, false).kind == route_kind::initialize);
  auto p = route_stdio(ping, m, false, false);
  CHECK(p.kind == route_kind::answer);
  CHECK(p.body.find("\"result\":{}") != std::string::npos);
  auto early = route_stdio(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", m, false, false);
  CHECK(early.body.find("send initialize first") != std::string::npos);
  CHECK(route_stdio(notify, m, false, false).status == 0); // nothing to write
  CHECK(route_stdio(ping, m, true, false).kind == route_kind::session);
  CHECK(route_stdio(notify, m, true, false).kind == route_kind::session);
  CHECK(route_stdio(stateless_call, m, false, false).kind == route_kind::stateless);
  auto bad = route_stdio("{", m, true, false);
  CHECK(bad.kind == route_kind::answer);
  CHECK(bad.body.find("-32700") != std::string::npos);
  CHECK(route_stdio(ping, m, true, true).body.find("overloaded") != std::string::npos);
}

TEST_CASE("Accept lists, wildcards and parameters") {
  CHECK(accepts("application/json", "application/json"));
  CHECK(accepts("text/html, application/json;q=0.5", "application/json"));
  CHECK(accepts("application/*", "application/json"));
  CHECK(accepts("*/*", "text/event-stream"));
  CHECK_FALSE(accepts("text/html", "application/json"));
  CHECK_FALSE(accepts("", "application/json"));
  // media types compare without regard to case (RFC 9110 §8.3.1)
  CHECK(accepts("Application/JSON", "application/json"));
  CHECK(accepts(" TEXT/* ;q=0.5", "text/event-stream"));
  CHECK_FALSE(accepts("application/", "application/json"));
  CHECK_FALSE(accepts("application/jsonx, text/*x", "application/json"));
  CHECK_FALSE(accepts("application/*", "text/event-stream"));
}

} // TEST_SUITE
