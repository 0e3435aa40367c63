#include <doctest/doctest.h>

#include "tests/protocol/harness.hpp"

using namespace mcpvisor::protocol;
using namespace mcpvisor::test;

namespace {

std::string req(int id, std::string_view method, std::string_view params = {},
                std::string_view caps = "{}", std::string_view extra_meta = {}) {
  std::string p = "{" + meta2026(caps, extra_meta);
  if (!params.empty()) {
    p += ',';
    p += params;
  }
  p += '}';
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")"
         + std::string{method} + R"(","params":)" + p + "}";
}

int status_of(const std::vector<outgoing>& msgs) {
  for (auto& m : msgs)
    if (m.final)
      return m.http_status;
  return -1;
}

} // namespace

TEST_SUITE("stateless 2026-07-28") {

TEST_CASE("required _meta keys are validated: -32602 and HTTP 400") {
  harness h;
  for (auto params : {R"({})",
                      R"({"_meta":{"io.modelcontextprotocol/clientCapabilities":{}}})",
                      R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}})"}) {
    auto msgs = h.stateless(R"({"jsonrpc":"2.0","id":101,"method":"server/discover","params":)"
                            + std::string{params} + "}");
    auto r = final_response(msgs);
    CHECK(error_code(r) == errc::invalid_params);
    CHECK(r["id"].GetInt() == 101);
    CHECK(status_of(msgs) == 400);
  }
  // clientInfo is optional
  auto ok = final_response(h.stateless(req(1, "server/discover")));
  CHECK(ok.HasMember("result"));
}

TEST_CASE("unsupported versions: -32022 with supported and requested") {
  harness h;
  auto msgs = h.stateless(R"({"jsonrpc":"2.0","id":301,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999.0.0","io.modelcontextprotocol/clientCapabilities":{}}}})");
  auto r = final_response(msgs);
  CHECK(error_code(r) == errc::unsupported_version);
  CHECK(std::string{r["error"]["data"]["requested"].GetString()} == "v999.0.0");
  CHECK(r["error"]["data"]["supported"].Size() == 5);
  CHECK(status_of(msgs) == 400);
}

TEST_CASE("server/discover: versions, capabilities, identity, cache hints") {
  harness h;
  auto r = final_response(h.stateless(req(1, "server/discover")));
  auto& res = r["result"];
  CHECK(std::string{res["supportedVersions"][0].GetString()} == "2026-07-28");
  CHECK(res["capabilities"]["prompts"].IsObject());
  CHECK(std::string{res["resultType"].GetString()} == "complete");
  CHECK(res.HasMember("ttlMs"));
  CHECK(std::string{res["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].GetString()} == "mcpvisor");
}

TEST_CASE("resultType on every result; ttlMs and cacheScope on lists and reads") {
  harness h;
  for (auto m : {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}) {
    auto r = final_response(h.stateless(req(1, m)));
    CAPTURE(m);
    CHECK(std::string{r["result"]["resultType"].GetString()} == "complete");
    CHECK(r["result"]["ttlMs"].IsUint64());
    CHECK(std::string{r["result"]["cacheScope"].GetString()} == "public");
  }
  auto read = final_response(h.stateless(req(2, "resources/read", R"("uri":"test://text")")));
  CHECK(read["result"]["ttlMs"].IsUint64());
  CHECK(std::string{read["result"]["cacheScope"].GetString()} == "private");
  auto call = final_response(h.stateless(req(3, "tools/call", R"("name":"echo","arguments":{"text":"x"})")));
  CHECK(std::string{call["result"]["resultType"].GetString()} == "complete");
  CHECK_FALSE(call["result"].HasMember("ttlMs"));
  auto comp = final_response(h.stateless(req(4, "completion/complete",
    R"("ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":""})")));
  CHECK(std::string{comp["result"]["resultType"].GetString()} == "complete");
}

TEST_CASE("tools come in a deterministic order") {
  harness h;
  auto a = final_response(h.stateless(req(1, "tools/list")));
  auto b = final_response(h.stateless(req(2, "tools/list")));
  REQUIRE(a["result"]["tools"].Size() == b["result"]["tools"].Size());
  for (rapidjson::SizeType i = 0; i < a["result"]["tools"].Size(); ++i)
    CHECK(std::string{a["result"]["tools"][i]["name"].GetString()}
          == b["result"]["tools"][i]["name"].GetString());
}

TEST_CASE("resource not found is -32602 with the uri") {
  harness h;
  auto r = final_response(h.stateless(req(1, "resources/read", R"("uri":"test://none")")));
  CHECK(error_code(r) == errc::invalid_params);
  CHECK(std::string{r["error"]["data"]["uri"].GetString()} == "test://none");
}

TEST_CASE("methods removed in 2026-07-28 are -32601 with HTTP 404") {
  harness h;
  for (auto m : {"initialize", "ping", "logging/setLevel", "resources/subscribe",
                 "resources/unsubscribe", "unknown/method"}) {
    CAPTURE(m);
    auto msgs = h.stateless(req(500, m));
    auto r = final_response(msgs);
    CHECK(error_code(r) == errc::method_not_found);
    CHECK(r["id"].GetInt() == 500);
    CHECK(status_of(msgs) == 404);
  }
}

TEST_CASE("missing client capability: -32021 with requiredCapabilities as an object") {
  harness h;
  auto msgs = h.stateless(req(401, "tools/call", R"("name":"needs_sampling","arguments":{})"));
  auto r = final_response(msgs);
  CHECK(error_code(r) == errc::missing_client_capability);
  CHECK(r["error"]["data"]["requiredCapabilities"]["sampling"].IsObject());
  CHECK(status_of(msgs) == 400);
  auto ok = final_response(h.stateless(req(402, "tools/call", R"("name":"needs_sampling")", R"({"sampling":{}})")));
  CHECK(ok.HasMember("result"));
  // an ask for a capability the request did not declare: same error
  auto ask = final_response(h.stateless(req(403, "tools/call", R"("name":"ask")", R"({"sampling":{}})")));
  CHECK(error_code(ask) == errc::missing_client_capability);
  CHECK(ask["error"]["data"]["requiredCapabilities"].HasMember("elicitation"));
}

TEST_CASE("MRTR: input_required with inputRequests and a requestState, then complete") {
  harness h;
  const char* caps = R"({"elicitation":{},"sampling":{}})";
  auto r1 = final_response(h.stateless(req(1, "tools/call", R"("name":"ask","arguments":{})", caps)));
  auto& res = r1["result"];
  CHECK(std::string{res["resultType"].GetString()} == "input_required");
  CHECK(std::string{res["inputRequests"]["name"]["method"].GetString()} == "elicitation/create");
  CHECK(std::string{res["inputRequests"]["llm"]["method"].GetString()} == "sampling/createMessage");
  std::string state = res["requestState"].GetString();
  // retry with both answers and the state
  auto r2 = final_response(h.stateless(req(2, "tools/call",
    R"("name":"ask","arguments":{},"requestState":")" + state
      + R"(","inputResponses":{"name":{"action":"accept","content":{"name":"Ada"}},"llm":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"},"extra":{"ignored":true}})",
    caps)));
  CHECK(std::string{r2["result"]["resultType"].GetString()} == "complete");
  CHECK(std::string{r2["result"]["content"][0]["text"].GetString()} == "hello Ada");
  // without requestState the answers alone are enough
  auto r3 = final_response(h.stateless(req(3, "tools/call",
    R"("name":"ask","inputResponses":{"name":{"action":"accept","content":{"name":"Bo"}},"llm":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}})",
    caps)));
  CHECK(std::string{r3["result"]["content"][0]["text"].GetString()} == "hello Bo");
  // a partial answer asks again for what is missing
  auto r4 = final_response(h.stateless(req(4, "tools/call",
    R"("name":"ask","inputResponses":{"wrong_key":{"action":"accept"}})", caps)));
  CHECK(std::string{r4["result"]["resultType"].GetString()} == "input_required");
}

TEST_CASE("MRTR: multi-round carries answers and state in requestState") {
  harness h;
  const char* caps = R"({"elicitation":{},"roots":{}})";
  auto r1 = final_response(h.stateless(req(1, "tools/call", R"("name":"rounds")", caps)));
  std::string s1 = r1["result"]["requestState"].GetString();
  CHECK(r1["result"]["inputRequests"].HasMember("first"));
  auto r2 = final_response(h.stateless(req(2, "tools/call",
    R"("name":"rounds","requestState":")" + s1 + R"(","inputResponses":{"first":{"action":"accept"}})", caps)));
  CHECK(r2["result"]["inputRequests"].HasMember("second"));
  std::string s2 = r2["result"]["requestState"].GetString();
  CHECK(s2 != s1);
  auto r3 = final_response(h.stateless(req(3, "tools/call",
    R"("name":"rounds","requestState":")" + s2 + R"(","inputResponses":{"second":{"roots":[]}})", caps)));
  CHECK(std::string{r3["result"]["content"][0]["text"].GetString()} == "done with state");
}

TEST_CASE("MRTR: a tampered or misused requestState is -32602") {
  harness h;
  const char* caps = R"({"elicitation":{},"roots":{}})";
  auto r1 = final_response(h.stateless(req(1, "tools/call", R"("name":"rounds")", caps)));
  std::string s1 = r1["result"]["requestState"].GetString();
  auto tampered = final_response(h.stateless(req(2, "tools/call",
    R"("name":"rounds","requestState":")" + s1 + R"(-TAMPERED","inputResponses":{"first":{"action":"accept"}})", caps)));
  CHECK(error_code(tampered) == errc::invalid_params);
  // the same state on another tool, or with other arguments, does not open
  auto other_tool = final_response(h.stateless(req(3, "tools/call",
    R"("name":"ask","requestState":")" + s1 + R"(")", caps)));
  CHECK(error_code(other_tool) == errc::invalid_params);
  auto other_args = final_response(h.stateless(req(4, "tools/call",
    R"("name":"rounds","arguments":{"x":1},"requestState":")" + s1 + R"(")", caps)));
  CHECK(error_code(other_args) == errc::invalid_params);
  // an expired state does not open either
  engine_config cfg;
  cfg.request_state_ttl = std::chrono::milliseconds{-1000};
  harness old{cfg};
  auto e1 = final_response(old.stateless(req(1, "tools/call", R"("name":"rounds")", caps)));
  std::string es = e1["result"]["requestState"].GetString();
  auto expired = final_response(old.stateless(req(2, "tools/call",
    R"("name":"rounds","requestState":")" + es + R"(")", caps)));
  CHECK(error_code(expired) == errc::invalid_params);
}

TEST_CASE("MRTR: malformed inputResponses are protocol errors") {
  harness h;
  const char* caps = R"({"elicitation":{},"sampling":{}})";
  CHECK(error_code(final_response(h.stateless(req(1, "tools/call",
          R"("name":"ask","inputResponses":{"name":12345})", caps))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.stateless(req(2, "tools/call",
          R"("name":"ask","inputResponses":null)", caps))))
        == errc::invalid_params);
}

TEST_CASE("list results never carry input_required") {
  harness h;
  auto r = final_response(h.stateless(req(1, "tools/list")));
  CHECK(std::string{r["result"]["resultType"].GetString()} == "complete");
}

TEST_CASE("per-request logLevel: no log notifications without it") {
  harness h;
  auto quiet = h.stateless(req(1, "tools/call", R"("name":"progress")"));
  for (auto& m : quiet)
    CHECK(m.json.find("notifications/message") == std::string::npos);
  auto loud = h.stateless(req(2, "tools/call", R"("name":"progress")", "{}",
                              R"("io.modelcontextprotocol/logLevel":"debug")"));
  int logs = 0;
  for (auto& m : loud)
    if (m.json.find("notifications/message") != std::string::npos)
      ++logs;
  CHECK(logs == 2);
  auto bad = final_response(h.stateless(req(3, "tools/call", R"("name":"progress")", "{}",
                                            R"("io.modelcontextprotocol/logLevel":"shout")")));
  CHECK(error_code(bad) == errc::invalid_params);
}

TEST_CASE("subscriptions/listen: acknowledgement first, tagged, only what was asked") {
  harness h;
  message msg;
  REQUIRE_FALSE(decode(req(77, "subscriptions/listen",
                           R"("notifications":{"toolsListChanged":true,"resourceSubscriptions":["test://text"]})"),
                       msg));
  engine_output out;
  serve_stateless(h.srv, msg, nullptr, out);
  REQUIRE(out.messages.size() == 1);
  auto ack = parse(out.messages[0].json);
  CHECK(std::string{ack["method"].GetString()} == "notifications/subscriptions/acknowledged");
  CHECK(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"].GetInt() == 77);
  CHECK(ack["params"]["notifications"]["toolsListChanged"].GetBool());
  CHECK_FALSE(ack["params"]["notifications"].HasMember("promptsListChanged"));
  CHECK_FALSE(out.messages[0].final);
  REQUIRE(out.subscribe);
  CHECK(out.subscribe->tools);
  CHECK_FALSE(out.subscribe->prompts);
  CHECK(out.subscribe->uris == std::vector<std::string>{"test://text"});
  auto n = parse(listen_notification(request_id{int64_t{77}}, "notifications/resources/updated", "test://text"));
  CHECK(n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"].GetInt() == 77);
  CHECK(std::string{n["params"]["uri"].GetString()} == "test://text");
  auto end = parse(listen_closed(request_id{int64_t{77}}));
  CHECK(end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"].GetInt() == 77);
}

TEST_CASE("HTTP headers must match the body (-32020, 400)") {
  harness h;
  auto call = [&](std::string body, mcp_headers hd) {
    return h.stateless(std::move(body), &hd);
  };
  mcp_headers good;
  good.protocol_version = "2026-07-28";
  good.has_method = true;
  good.method = "tools/list";
  CHECK(final_response(call(req(1, "tools/list"), good)).HasMember("result"));
  auto wrong_method = good;
  wrong_method.method = "prompts/list";
  auto msgs = call(req(2, "tools/list"), wrong_method);
  CHECK(error_code(final_response(msgs)) == errc::header_mismatch);
  CHECK(status_of(msgs) == 400);
  auto upper = good;
  upper.method = "TOOLS/LIST";
  CHECK(error_code(final_response(call(req(3, "tools/list"), upper))) == errc::header_mismatch);
  auto no_method = good;
  no_method.has_method = false;
  CHECK(error_code(final_response(call(req(4, "tools/list"), no_method))) == errc::header_mismatch);
  auto version = good;
  version.protocol_version = "2025-11-25";
  CHECK(error_code(final_response(call(req(5, "tools/list"), version))) == errc::header_mismatch);
  // a header naming a version the body does not: mismatch comes before
  // the unsupported-version check
  mcp_headers v999 = good;
  v999.method = "server/discover";
  auto mm = call(R"({"jsonrpc":"2.0","id":302,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999.0.0","io.modelcontextprotocol/clientCapabilities":{}}}})", v999);
  CHECK(error_code(final_response(mm)) == errc::header_mismatch);
  // Mcp-Name for tools/call, plain or base64
  mcp_headers named = good;
  named.method = "tools/call";
  auto body = req(6, "tools/call", R"("name":"echo","arguments":{"text":"x"})");
  CHECK(error_code(final_response(call(body, named))) == errc::header_mismatch);
  named.has_name = true;
  named.name = "wrong";
  CHECK(error_code(final_response(call(body, named))) == errc::header_mismatch);
  named.name = "echo";
  CHECK(final_response(call(body, named)).HasMember("result"));
  named.name = "=?base64?ZWNobw==?=";
  CHECK(final_response(call(body, named)).HasMember("result"));
}

TEST_CASE("Mcp-Param headers: present, matching, validly encoded") {
  harness h;
  mcp_headers hd;
  hd.protocol_version = "2026-07-28";
  hd.has_method = true;
  hd.method = "tools/call";
  hd.has_name = true;
  hd.name = "region_tool";
  auto body = [](std::string_view args) {
    return req(1, "tools/call", R"("name":"region_tool","arguments":)" + std::string{args});
  };
  // value in the body but no header: rejected
  CHECK(error_code(final_response(h.stateless(body(R"({"region":"eu"})"), &hd))) == errc::header_mismatch);
  auto with = hd;
  with.params = {{"region", "eu"}}; // header names are case-insensitive
  CHECK(final_response(h.stateless(body(R"({"region":"eu"})"), &with)).HasMember("result"));
  with.params = {{"Region", "=?base64?ZXU=?="}};
  CHECK(final_response(h.stateless(body(R"({"region":"eu"})"), &with)).HasMember("result"));
  with.params = {{"Region", "=?base64?ZXU?="}}; // bad padding
  CHECK(error_code(final_response(h.stateless(body(R"({"region":"eu"})"), &with))) == errc::header_mismatch);
  with.params = {{"Region", "us"}};
  CHECK(error_code(final_response(h.stateless(body(R"({"region":"eu"})"), &with))) == errc::header_mismatch);
  // a value without the base64 wrapper is taken literally
  with.params = {{"Region", "ZXU="}};
  CHECK(final_response(h.stateless(body(R"({"region":"ZXU="})"), &with)).HasMember("result"));
  // integers compare as numbers
  with.params = {{"Count", "42.0"}};
  CHECK(final_response(h.stateless(body(R"({"count":42})"), &with)).HasMember("result"));
  // no value in the body: no header expected
  CHECK(final_response(h.stateless(body("{}"), &hd)).HasMember("result"));
}

} // TEST_SUITE

TEST_SUITE("catalog definitions") {

TEST_CASE("invalid definitions are refused with a reason") {
  catalog cat;
  tool_definition t;
  t.name = "bad name";
  t.handler = [](call_context&) { return tool_result::text(""); };
  CHECK(cat.add_tool(t)->find("may only contain") != std::string::npos);
  t.name = "ok";
  t.input_schema = R"({"type":"string"})";
  CHECK(cat.add_tool(t)->find("object schema") != std::string::npos);
  t.input_schema = R"({"type":"object","properties":{"a":{"type":"number","x-mcp-header":"A"}}})";
  CHECK(cat.add_tool(t)->find("string, integer or boolean") != std::string::npos);
  t.input_schema = R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"A"}}}})";
  CHECK(cat.add_tool(t)->find("only allowed") != std::string::npos);
  t.input_schema = R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":"A"},"b":{"type":"string","x-mcp-header":"a"}}})";
  CHECK(cat.add_tool(t)->find("used twice") != std::string::npos);
  t.input_schema = R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":"bad header"}}})";
  CHECK(cat.add_tool(t)->find("HTTP token") != std::string::npos);
  t.input_schema = R"({"type":"object"})";
  t.handler = nullptr;
  CHECK(cat.add_tool(t)->find("no handler") != std::string::npos);
  resource_template_definition rt;
  rt.uri_template = "x://{";
  rt.name = "x";
  rt.handler = [](call_context&) { return read_result{}; };
  CHECK(cat.add_resource_template(rt));
  CHECK(cat.current()->tools().empty());
}

TEST_CASE("changes publish a new snapshot and tell the listener") {
  catalog cat;
  std::vector<catalog_change> seen;
  cat.set_listener([&](catalog_change c, std::string_view) { seen.push_back(c); });
  auto before = cat.current();
  tool_definition t;
  t.name = "t1";
  t.handler = [](call_context&) { return tool_result::text(""); };
  REQUIRE_FALSE(cat.add_tool(t));
  CHECK(before->tools().empty()); // old snapshots do not change
  CHECK(cat.current()->tools().size() == 1);
  CHECK(cat.current()->version > before->version);
  CHECK(cat.remove_tool("t1"));
  CHECK_FALSE(cat.remove_tool("t1"));
  cat.resource_updated("x://1");
  CHECK(seen == std::vector<catalog_change>{catalog_change::tools, catalog_change::tools,
                                            catalog_change::resource_updated});
}

} // TEST_SUITE
