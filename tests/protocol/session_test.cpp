#include <doctest/doctest.h>

#include <thread>

#include "tests/protocol/harness.hpp"

using namespace mcpvisor::protocol;
using namespace mcpvisor::test;

namespace {

std::string req(int id, std::string_view method, std::string_view params = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")"
         + std::string{method} + R"(","params":)" + std::string{params} + "}";
}

std::string text_of(const json_document& doc) {
  auto& content = doc["result"]["content"];
  REQUIRE(content.Size() > 0);
  return content[0]["text"].GetString();
}

} // namespace

TEST_SUITE("session lifecycle") {

TEST_CASE("initialize once, echoing a supported version") {
  harness h;
  auto r = final_response(h.send(req(1, "initialize",
    R"({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}})")));
  CHECK(std::string{r["result"]["protocolVersion"].GetString()} == "2025-06-18");
  CHECK(r["result"]["capabilities"].HasMember("tools"));
  CHECK(std::string{r["result"]["serverInfo"]["name"].GetString()} == "mcpvisor");
  CHECK_FALSE(r["result"].HasMember("resultType")); // a 2026 field
  auto again = final_response(h.send(req(2, "initialize",
    R"({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}})")));
  CHECK(error_code(again) == errc::invalid_request);
  CHECK(h.sess.rev() == revision::v2025_06_18);
}

TEST_CASE("an unsupported version is answered with the latest session version") {
  harness h;
  auto r = final_response(h.send(req(1, "initialize",
    R"({"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"c","version":"1"}})")));
  CHECK(std::string{r["result"]["protocolVersion"].GetString()} == "2025-11-25");
}

TEST_CASE("nothing but ping before initialize") {
  harness h;
  CHECK(error_code(final_response(h.send(req(1, "tools/list")))) == errc::invalid_request);
  auto ping = final_response(h.send(req(2, "ping")));
  CHECK(ping["result"].ObjectEmpty());
  CHECK(error_code(final_response(h.send(req(3, "initialize", "{}")))) == errc::invalid_params);
}

TEST_CASE("ping at any time; unknown methods -32601; 2026-only methods are not in sessions") {
  harness h;
  h.init();
  CHECK(final_response(h.send(req(1, "ping")))["result"].ObjectEmpty());
  CHECK(error_code(final_response(h.send(req(2, "no/such")))) == errc::method_not_found);
  CHECK(error_code(final_response(h.send(req(3, "server/discover")))) == errc::method_not_found);
  CHECK(error_code(final_response(h.send(req(4, "subscriptions/listen")))) == errc::method_not_found);
}

TEST_CASE("logging/setLevel filters notifications/message") {
  harness h;
  h.init();
  CHECK(error_code(final_response(h.send(req(1, "logging/setLevel", R"({"level":"loud"})"))))
        == errc::invalid_params);
  CHECK(final_response(h.send(req(2, "logging/setLevel", R"({"level":"debug"})")))["result"].ObjectEmpty());
  auto msgs = h.send(req(3, "tools/call", R"({"name":"progress"})"));
  int logs = 0;
  for (auto& m : msgs)
    if (m.json.find("notifications/message") != std::string::npos)
      ++logs;
  CHECK(logs == 2);
  h.send(req(4, "logging/setLevel", R"({"level":"error"})"));
  msgs = h.send(req(5, "tools/call", R"({"name":"progress"})"));
  for (auto& m : msgs)
    CHECK(m.json.find("notifications/message") == std::string::npos);
}

TEST_CASE("a request id still in flight cannot be reused") {
  harness h;
  h.init("2025-11-25", R"({"elicitation":{},"sampling":{}})");
  auto first = h.send(req(9, "tools/call", R"({"name":"ask"})"));
  CHECK(h.sess.calls_in_flight() == 1);
  CHECK(error_code(final_response(h.send(req(9, "ping")))) == 0); // ping answers anyway
  CHECK(error_code(final_response(h.send(req(9, "tools/list")))) == errc::invalid_request);
}

} // TEST_SUITE

TEST_SUITE("session tools") {

TEST_CASE("tools/list in definition order, tools/call with valid arguments") {
  harness h;
  h.init();
  auto list = final_response(h.send(req(1, "tools/list")));
  auto& tools = list["result"]["tools"];
  REQUIRE(tools.Size() == 8);
  CHECK(std::string{tools[0]["name"].GetString()} == "echo");
  CHECK(tools[0].HasMember("inputSchema"));
  CHECK(tools[0]["annotations"]["readOnlyHint"].GetBool());
  auto call = final_response(h.send(req(2, "tools/call", R"({"name":"echo","arguments":{"text":"hi"}})")));
  CHECK(text_of(call) == "hi");
  CHECK_FALSE(call["result"].HasMember("isError"));
}

TEST_CASE("invalid arguments are a tool error that says what is wrong") {
  harness h;
  h.init();
  auto r = final_response(h.send(req(1, "tools/call", R"({"name":"echo","arguments":{"text":5}})")));
  CHECK(r["result"]["isError"].GetBool());
  CHECK(text_of(r).find("at /text: expected string") != std::string::npos);
  auto missing = final_response(h.send(req(2, "tools/call", R"({"name":"echo","arguments":{}})")));
  CHECK(text_of(missing).find("missing required property 'text'") != std::string::npos);
  auto extra = final_response(h.send(req(3, "tools/call", R"({"name":"echo","arguments":{"text":"a","x":1}})")));
  CHECK(text_of(extra).find("'x' is not allowed") != std::string::npos);
}

TEST_CASE("unknown tools and malformed params are protocol errors") {
  harness h;
  h.init();
  CHECK(error_code(final_response(h.send(req(1, "tools/call", R"({"name":"nope"})"))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.send(req(2, "tools/call", R"({})"))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.send(req(3, "tools/call", R"({"name":"echo","arguments":[1]})"))))
        == errc::invalid_params);
}

TEST_CASE("tool_error becomes isError; output that breaks the output schema is not sent") {
  harness h;
  h.init();
  auto r = final_response(h.send(req(1, "tools/call", R"({"name":"fails"})")));
  CHECK(r["result"]["isError"].GetBool());
  CHECK(text_of(r) == "the disk is full");
  auto good = final_response(h.send(req(2, "tools/call", R"({"name":"typed"})")));
  CHECK(good["result"]["structuredContent"]["n"].GetInt() == 1);
  auto bad = final_response(h.send(req(3, "tools/call", R"({"name":"typed","arguments":{"bad":"yes"}})")));
  CHECK(error_code(bad) == errc::internal_error);
  CHECK(std::string{bad["error"]["message"].GetString()}.find("output schema") != std::string::npos);
}

TEST_CASE("progress goes out only with a token, on the request's stream, increasing") {
  harness h;
  h.init();
  auto without = h.send(req(1, "tools/call", R"({"name":"progress"})"));
  for (auto& m : without)
    CHECK(m.json.find("notifications/progress") == std::string::npos);
  auto with = h.send(req(2, "tools/call", R"({"name":"progress","_meta":{"progressToken":"p1"}})"));
  std::vector<double> values;
  for (auto& m : with) {
    if (m.json.find("notifications/progress") == std::string::npos)
      continue;
    CHECK(m.stream == request_id{int64_t{2}});
    auto d = parse(m.json);
    CHECK(std::string{d["params"]["progressToken"].GetString()} == "p1");
    values.push_back(d["params"]["progress"].GetDouble());
  }
  CHECK(values == std::vector<double>{0, 1, 2});
  CHECK(with.back().final);
}

TEST_CASE("cancellation reaches the handler and suppresses the answer") {
  harness h;
  h.init("2025-11-25", R"({"elicitation":{},"sampling":{}})");
  auto msgs = h.send(req(5, "tools/call", R"({"name":"ask"})"));
  REQUIRE(h.sess.calls_in_flight() == 1);
  auto after = h.send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user"}})");
  CHECK(after.empty());
  CHECK(h.sess.calls_in_flight() == 0);
  // a late answer to the elicitation is ignored: no response for request 5
  auto late = h.send(R"({"jsonrpc":"2.0","id":1,"result":{"action":"accept","content":{"name":"x"}}})");
  CHECK(late.empty());
}

TEST_CASE("server-to-client requests: unique ids, on the call's stream, answers rerun the handler") {
  harness h;
  h.init("2025-11-25", R"({"elicitation":{},"sampling":{}})");
  auto msgs = h.send(req(7, "tools/call", R"({"name":"ask"})"));
  std::vector<json_document> requests;
  for (auto& m : msgs) {
    CHECK(m.stream == request_id{int64_t{7}});
    CHECK_FALSE(m.final);
    requests.push_back(parse(m.json));
  }
  REQUIRE(requests.size() == 2);
  CHECK(std::string{requests[0]["method"].GetString()} == "elicitation/create");
  CHECK(std::string{requests[1]["method"].GetString()} == "sampling/createMessage");
  auto id0 = requests[0]["id"].GetInt64();
  auto id1 = requests[1]["id"].GetInt64();
  CHECK(id0 != id1);
  auto none = h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(id1)
                     + R"(,"result":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}})");
  CHECK(none.empty()); // still waiting for the elicitation
  auto done = h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(id0)
                     + R"(,"result":{"action":"accept","content":{"name":"Ada"}}})");
  auto r = final_response(done);
  CHECK(text_of(r) == "hello Ada");
  CHECK(r["id"].GetInt() == 7);
  // the next call's server requests get fresh ids
  auto more = h.send(req(8, "tools/call", R"({"name":"ask"})"));
  auto next = parse(more[0].json)["id"].GetInt64();
  CHECK(next > id1);
}

TEST_CASE("an error answer from the client reaches the handler") {
  harness h;
  h.init("2025-11-25", R"({"elicitation":{},"sampling":{}})");
  auto msgs = h.send(req(1, "tools/call", R"({"name":"ask"})"));
  auto e = parse(msgs[0].json)["id"].GetInt64();
  auto s = parse(msgs[1].json)["id"].GetInt64();
  h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(s) + R"(,"result":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}})");
  auto r = final_response(h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(e)
                                 + R"(,"error":{"code":-1,"message":"declined"}})"));
  CHECK(r["result"]["isError"].GetBool());
}

TEST_CASE("multi-round asks keep state between rounds") {
  harness h;
  h.init("2025-11-25", R"({"elicitation":{},"roots":{}})");
  auto m1 = h.send(req(1, "tools/call", R"({"name":"rounds"})"));
  REQUIRE(m1.size() == 1);
  auto a = parse(m1[0].json);
  CHECK(std::string{a["method"].GetString()} == "elicitation/create");
  auto m2 = h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(a["id"].GetInt64()) + R"(,"result":{"action":"accept"}})");
  REQUIRE(m2.size() == 1);
  auto b = parse(m2[0].json);
  CHECK(std::string{b["method"].GetString()} == "roots/list");
  auto r = final_response(h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(b["id"].GetInt64()) + R"(,"result":{"roots":[]}})"));
  CHECK(text_of(r) == "done with state");
}

TEST_CASE("asking for a capability the client lacks is refused") {
  harness h;
  h.init(); // no capabilities
  auto r = final_response(h.send(req(1, "tools/call", R"({"name":"ask"})")));
  CHECK(error_code(r) == errc::invalid_params);
  CHECK(r["error"]["data"]["requiredCapabilities"].HasMember("elicitation"));
  auto needs = final_response(h.send(req(2, "tools/call", R"({"name":"needs_sampling"})")));
  CHECK(error_code(needs) == errc::invalid_params);
}

TEST_CASE("server-to-client requests have a deadline") {
  engine_config cfg;
  cfg.input_timeout = std::chrono::milliseconds{0};
  harness h{cfg};
  h.init("2025-11-25", R"({"elicitation":{},"sampling":{}})");
  h.send(req(3, "tools/call", R"({"name":"ask"})"));
  REQUIRE(h.sess.next_deadline());
  engine_output out;
  h.sess.tick(std::chrono::steady_clock::now() + std::chrono::seconds{1}, out);
  REQUIRE(out.messages.size() == 1);
  auto r = parse(out.messages[0].json);
  CHECK(r["id"].GetInt() == 3);
  CHECK(error_code(r) == errc::internal_error);
  CHECK(h.sess.calls_in_flight() == 0);
}

TEST_CASE("URL elicitation carries an elicitationId in 2025-11-25") {
  harness h;
  tool_definition t;
  t.name = "login";
  t.description = "URL elicitation";
  t.handler = [](call_context& ctx) -> tool_result {
    if (!ctx.ask("go", input_request::elicit_url("Sign in", "https://example.com/login")))
      return ctx.input_required();
    return tool_result::text("ok");
  };
  REQUIRE_FALSE(h.cat.add_tool(t));
  h.init("2025-11-25", R"({"elicitation":{"url":{}}})");
  auto msgs = h.send(req(1, "tools/call", R"({"name":"login"})"));
  REQUIRE(msgs.size() == 1);
  auto d = parse(msgs[0].json);
  CHECK(std::string{d["params"]["mode"].GetString()} == "url");
  CHECK(d["params"].HasMember("elicitationId"));
}

} // TEST_SUITE

TEST_SUITE("session resources, prompts, completion, pagination") {

TEST_CASE("resources: static, templates, not found is -32002 with the uri") {
  harness h;
  h.init();
  auto list = final_response(h.send(req(1, "resources/list")));
  CHECK(list["result"]["resources"].Size() == 1);
  auto tl = final_response(h.send(req(2, "resources/templates/list")));
  CHECK(std::string{tl["result"]["resourceTemplates"][0]["uriTemplate"].GetString()} == "test://items/{id}");
  auto read = final_response(h.send(req(3, "resources/read", R"({"uri":"test://text"})")));
  CHECK(std::string{read["result"]["contents"][0]["text"].GetString()} == "hello");
  CHECK_FALSE(read["result"].HasMember("ttlMs")); // a 2026 field
  auto item = final_response(h.send(req(4, "resources/read", R"({"uri":"test://items/42"})")));
  CHECK(std::string{item["result"]["contents"][0]["text"].GetString()} == "42");
  auto missing = final_response(h.send(req(5, "resources/read", R"({"uri":"test://nope"})")));
  CHECK(error_code(missing) == errc::resource_not_found);
  CHECK(std::string{missing["error"]["data"]["uri"].GetString()} == "test://nope");
  auto handler_missing = final_response(h.send(req(6, "resources/read", R"({"uri":"test://items/missing"})")));
  CHECK(error_code(handler_missing) == errc::resource_not_found);
}

TEST_CASE("subscriptions: only subscribers get updates; the limit is clear") {
  engine_config cfg;
  cfg.max_subscriptions = 1;
  harness h{cfg};
  h.init();
  engine_output out;
  h.sess.notify_change(catalog_change::resource_updated, "test://text", out);
  CHECK(out.messages.empty());
  CHECK(final_response(h.send(req(1, "resources/subscribe", R"({"uri":"test://text"})")))["result"].ObjectEmpty());
  h.sess.notify_change(catalog_change::resource_updated, "test://text", out);
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0].json.find("notifications/resources/updated") != std::string::npos);
  CHECK(out.messages[0].stream.empty()); // the session's own stream
  auto over = final_response(h.send(req(2, "resources/subscribe", R"({"uri":"test://items/1"})")));
  CHECK(error_code(over) == errc::invalid_params);
  CHECK(std::string{over["error"]["message"].GetString()}.find("limit of 1") != std::string::npos);
  auto unknown = final_response(h.send(req(3, "resources/subscribe", R"({"uri":"test://zzz"})")));
  CHECK(error_code(unknown) == errc::resource_not_found);
  h.send(req(4, "resources/unsubscribe", R"({"uri":"test://text"})"));
  out.clear();
  h.sess.notify_change(catalog_change::resource_updated, "test://text", out);
  CHECK(out.messages.empty());
  h.sess.notify_change(catalog_change::tools, {}, out);
  CHECK(out.messages[0].json.find("notifications/tools/list_changed") != std::string::npos);
}

TEST_CASE("subscriptions only to template matches that exist") {
  harness h;
  resource_template_definition t;
  t.uri_template = "files://{+path}";
  t.name = "files";
  t.handler = [](call_context&) { return read_result::missing(); };
  t.exists = [](std::string_view uri) { return uri == "files://here"; };
  REQUIRE_FALSE(h.cat.add_resource_template(std::move(t)));
  h.init();
  CHECK(final_response(h.send(req(1, "resources/subscribe", R"({"uri":"files://here"})")))["result"].ObjectEmpty());
  auto gone = final_response(h.send(req(2, "resources/subscribe", R"({"uri":"files://elsewhere"})")));
  CHECK(error_code(gone) == errc::resource_not_found);
}

TEST_CASE("a result larger than max_result_bytes is an error that says so") {
  engine_config cfg;
  cfg.max_result_bytes = 200;
  harness h{cfg};
  h.init();
  auto small = final_response(h.send(req(1, "tools/call", R"({"name":"echo","arguments":{"text":"hi"}})")));
  CHECK(small.HasMember("result"));
  auto big = final_response(h.send(req(2, "tools/call", R"({"name":"echo","arguments":{"text":")"
                                                        + std::string(50, 'x') + "\"}}")));
  CHECK(big.HasMember("result")); // 50 characters still fit
  cfg.max_result_bytes = 60;
  harness tight{cfg};
  tight.init();
  auto over = final_response(tight.send(req(3, "tools/call", R"({"name":"echo","arguments":{"text":")"
                                                             + std::string(50, 'x') + "\"}}")));
  CHECK(error_code(over) == errc::internal_error);
  CHECK(std::string{over["error"]["message"].GetString()}.find("too large") != std::string::npos);
  CHECK(over["error"]["data"]["limit"].GetInt() == 60);
}

TEST_CASE("prompts: required arguments enforced, strings only") {
  harness h;
  h.init();
  auto list = final_response(h.send(req(1, "prompts/list")));
  CHECK(list["result"]["prompts"][0]["arguments"][0]["required"].GetBool());
  auto get = final_response(h.send(req(2, "prompts/get", R"({"name":"greet","arguments":{"name":"Ada"}})")));
  CHECK(std::string{get["result"]["messages"][0]["content"]["text"].GetString()} == "Hello Ada");
  CHECK(error_code(final_response(h.send(req(3, "prompts/get", R"({"name":"greet"})"))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.send(req(4, "prompts/get", R"({"name":"greet","arguments":{"name":1}})"))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.send(req(5, "prompts/get", R"({"name":"nope"})"))))
        == errc::invalid_params);
}

TEST_CASE("completion for prompt arguments and template variables") {
  harness h;
  h.init();
  auto p = final_response(h.send(req(1, "completion/complete",
    R"({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":"A"}})")));
  CHECK(p["result"]["completion"]["values"].Size() == 2);
  auto t = final_response(h.send(req(2, "completion/complete",
    R"({"ref":{"type":"ref/resource","uri":"test://items/{id}"},"argument":{"name":"id","value":"ap"}})")));
  CHECK(t["result"]["completion"]["values"].Size() == 2);
  CHECK_FALSE(t["result"]["completion"]["hasMore"].GetBool());
  auto none = final_response(h.send(req(3, "completion/complete",
    R"({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"mood","value":""}})")));
  CHECK(none["result"]["completion"]["values"].Size() == 0);
  CHECK(error_code(final_response(h.send(req(4, "completion/complete", R"({"ref":{"type":"ref/x"}})"))))
        == errc::invalid_params);
}

TEST_CASE("pagination: opaque cursors that cannot be forged") {
  engine_config cfg;
  cfg.page_size = 3;
  harness h{cfg};
  h.init();
  std::vector<std::string> names;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto params = cursor.empty() ? std::string{"{}"} : R"({"cursor":")" + cursor + R"("})";
    auto r = final_response(h.send(req(10 + page, "tools/list", params)));
    for (auto& t : r["result"]["tools"].GetArray())
      names.emplace_back(t["name"].GetString());
    if (!r["result"].HasMember("nextCursor"))
      break;
    cursor = r["result"]["nextCursor"].GetString();
  }
  CHECK(names.size() == 8);
  CHECK(names.front() == "echo");
  CHECK(names.back() == "region_tool");
  CHECK(error_code(final_response(h.send(req(20, "tools/list", R"({"cursor":"MTAw.AAAA"})"))))
        == errc::invalid_params);
  CHECK(error_code(final_response(h.send(req(21, "tools/list", R"({"cursor":5})"))))
        == errc::invalid_params);
  // a tools cursor is not a prompts cursor
  auto first = final_response(h.send(req(22, "tools/list")));
  std::string tc = first["result"]["nextCursor"].GetString();
  CHECK(error_code(final_response(h.send(req(23, "prompts/list", R"({"cursor":")" + tc + R"("})"))))
        == errc::invalid_params);
}

TEST_CASE("a checkpoint restores the session's state") {
  harness h;
  h.init("2025-06-18", R"({"sampling":{}})");
  h.send(req(1, "logging/setLevel", R"({"level":"warning"})"));
  h.send(req(2, "resources/subscribe", R"({"uri":"test://text"})"));
  auto cp = h.sess.checkpoint();
  session other{h.srv};
  REQUIRE(other.restore(cp));
  CHECK(other.initialized());
  CHECK(other.rev() == revision::v2025_06_18);
  CHECK(other.level() == log_level::warning);
  CHECK(other.subscribed("test://text"));
  CHECK(other.client_name() == "t");
  CHECK_FALSE(other.restore("{}"));
  CHECK_FALSE(other.restore("garbage"));
}

} // TEST_SUITE

TEST_SUITE("deferred rounds") {

TEST_CASE("a handler that answers later, from another thread") {
  harness h;
  std::vector<deferred_round> parked;
  tool_definition t;
  t.name = "later";
  t.description = "answers when told to";
  t.exec = execution::inline_call;
  t.handler = [&parked](call_context& ctx) -> tool_result {
    parked.push_back(ctx.defer());
    return ctx.answer_later();
  };
  REQUIRE_FALSE(h.cat.add_tool(std::move(t)));
  h.init();
  auto first = h.send(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"later"}})");
  CHECK(first.empty()); // nothing yet: the round is open
  REQUIRE(parked.size() == 1);
  CHECK(parked[0].pending());
  std::thread{[r = parked[0]]() mutable { r.done(tool_result::text("at last")); }}.join();
  CHECK_FALSE(parked[0].pending());
  parked[0].done(tool_result::text("twice")); // the first done counts
  engine_output out;
  std::vector<outgoing> msgs;
  h.drain(out, msgs, false);
  REQUIRE(msgs.size() == 1);
  auto doc = parse(msgs[0].json);
  CHECK(std::string{doc["result"]["content"][0]["text"].GetString()} == "at last");
}

TEST_CASE("a round ended before the handler returns, and a cancelled one") {
  harness h;
  tool_definition t;
  t.name = "quick";
  t.description = "ends its round at once";
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) -> tool_result {
    auto r = ctx.defer();
    r.done(tool_result::text("done early"));
    return ctx.answer_later();
  };
  REQUIRE_FALSE(h.cat.add_tool(std::move(t)));
  tool_definition bad;
  bad.name = "forgot";
  bad.description = "returns answer_later without defer";
  bad.exec = execution::inline_call;
  bad.handler = [](call_context& ctx) -> tool_result { return ctx.answer_later(); };
  REQUIRE_FALSE(h.cat.add_tool(std::move(bad)));
  h.init();
  auto quick = final_response(h.send(R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"quick"}})"));
  CHECK(std::string{quick["result"]["content"][0]["text"].GetString()} == "done early");
  auto forgot = final_response(h.send(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"forgot"}})"));
  CHECK(error_code(forgot) == errc::internal_error);
  // stateless, too
  auto st = final_response(h.stateless(R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"quick",)"
                                       + meta2026() + "}}"));
  CHECK(std::string{st["result"]["content"][0]["text"].GetString()} == "done early");
}

} // TEST_SUITE
