#include <doctest/doctest.h>

#include "protocol/tasks.hpp"
#include "tests/protocol/harness.hpp"

using namespace mcpvisor::protocol;
using namespace mcpvisor::test;

namespace {

constexpr std::string_view ext_caps
  = R"({"elicitation":{},"extensions":{"io.modelcontextprotocol/tasks":{}}})";

std::string call(int id, std::string_view tool, std::string_view caps,
                 std::string_view extra = {}) {
  std::string p = "{" + meta2026(caps) + R"(,"name":")" + std::string{tool}
                  + R"(","arguments":{})";
  if (!extra.empty()) {
    p += ',';
    p += extra;
  }
  p += '}';
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":)" + p + "}";
}

std::string task_req(int id, std::string_view method, std::string_view task_id,
                      std::string_view caps = ext_caps, std::string_view extra = {}) {
  std::string p = "{" + meta2026(caps) + R"(,"taskId":")" + std::string{task_id} + '"';
  if (!extra.empty()) {
    p += ',';
    p += extra;
  }
  p += '}';
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")"
         + std::string{method} + R"(","params":)" + p + "}";
}

/// A server with task tools, a task table, and the steps the runtime takes.
struct fixture {
  harness h;
  task_table table;
  int64_t now = 1'000'000;
  int runs = 0;

  explicit fixture(task_limits limits = {}) : table(limits) {
    auto add = [&](std::string name, task_support ts, tool_handler f,
                   bool before = false, bool idempotent = false) {
      tool_definition t;
      t.name = std::move(name);
      t.tasks = ts;
      t.input_before_task = before;
      t.annotations.idempotent = idempotent;
      t.handler = std::move(f);
      REQUIRE_FALSE(h.cat.add_tool(std::move(t)));
    };
    add("work", task_support::optional, [this](call_context&) {
      ++runs;
      return tool_result::text("done");
    }, false, true);
    add("must", task_support::required,
        [](call_context&) { return tool_result::error("a tool error"); });
    add("broken", task_support::required,
        [](call_context&) -> tool_result { throw request_failure("it broke"); });
    add("ask2", task_support::optional, [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("a", input_request::elicit_form("A?", R"({"type":"object"})"));
      auto b = ctx.ask("b", input_request::elicit_form("B?", R"({"type":"object"})"));
      if (!a || !b)
        return ctx.input_required();
      return tool_result::text("both");
    });
    add("first", task_support::required, [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("name", input_request::elicit_form("Name?", R"({"type":"object"})"));
      if (!a)
        return ctx.input_required();
      auto* c = find_member(a->result, "content");
      return tool_result::text("hi " + std::string{as_string(find_member(c, "name")).value_or("?")});
    }, true);
  }

  /// Sends a request; returns the engine's output.
  engine_output send(std::string json, const mcp_headers* headers = nullptr) {
    message msg;
    REQUIRE_FALSE(decode(std::move(json), msg, h.srv.config().limits));
    engine_output out;
    serve_stateless(h.srv, msg, headers, out);
    return out;
  }

  /// What the runtime does with a task call: store it, then run rounds.
  task& start(int id, std::string_view tool, std::string_view caps = ext_caps) {
    auto json = call(id, tool, caps);
    auto out = send(json);
    REQUIRE(out.calls.size() == 1);
    REQUIRE(out.calls.front()->as_task());
    auto made = table.create({}, std::string{tool}, json,
                             out.calls.front()->replayable(), now);
    REQUIRE(made.t != nullptr);
    made.t->call = out.calls.front();
    round(*made.t);
    return *made.t;
  }

  void round(task& t) {
    auto c = t.call;
    c->context().set_io(h.io.get(), h.io);
    c->run();
    finish_task_round(h.srv, t, *c, ++now);
  }

  /// Serves a tasks/* request; runs the next round if it resumes.
  json_document serve(std::string json) {
    auto out = send(std::move(json));
    if (!out.task) {
      REQUIRE(out.messages.size() == 1);
      return parse(out.messages.front().json);
    }
    engine_output served;
    auto next = serve_task_request(h.srv, table, *out.task, ++now, served);
    REQUIRE(served.messages.size() == 1);
    if (next != nullptr)
      round(*table.at(out.task->task_id));
    return parse(served.messages.front().json);
  }
};

} // namespace

TEST_SUITE("tasks extension") {

TEST_CASE("transitions: working, input_required, working, completed; terminal stays") {
  task_table table;
  auto* t = table.create("", "x", "{}", false, 0).t;
  REQUIRE(t != nullptr);
  CHECK(t->status == task_status::working);
  CHECK(task_table::need_input(*t, {{"k", R"({"method":"elicitation/create","params":{}})"}}, 1));
  CHECK(t->status == task_status::input_required);
  auto up = task_table::answer(*t, {{"k", R"({"action":"accept"})"}}, 2);
  CHECK(up.resume);
  CHECK(t->status == task_status::working);
  CHECK(t->asks.empty());
  CHECK(task_table::complete(*t, R"({"content":[]})", 3));
  CHECK(t->status == task_status::completed);
  // a terminal task never changes again
  CHECK_FALSE(task_table::fail(*t, -32603, "late", 4));
  CHECK_FALSE(task_table::complete(*t, "{}", 4));
  CHECK_FALSE(task_table::need_input(*t, {{"z", "{}"}}, 4));
  task_table::cancel(*t, 5);
  CHECK(t->status == task_status::completed);
  CHECK(t->updated_ms == 3);
}

TEST_CASE("cancel stops the round in flight and ends the task cancelled") {
  task_table table;
  auto* t = table.create("", "x", "{}", false, 0).t;
  int stopped = 0;
  t->stop = [&] { ++stopped; };
  task_table::cancel(*t, 7);
  CHECK(t->status == task_status::cancelled);
  CHECK(stopped == 1);
  CHECK_FALSE(task_table::complete(*t, "{}", 8)); // the round's late result is dropped
  task_table::cancel(*t, 9);
  CHECK(stopped == 1);
}

TEST_CASE("failed carries the JSON-RPC error; input_required lists only what is outstanding") {
  task_table table;
  auto* t = table.create("", "x", "{}", false, 0).t;
  CHECK(task_table::fail(*t, -32603, "boom", 1, R"({"why":1})"));
  CHECK(t->error == R"({"code":-32603,"message":"boom","data":{"why":1}})");
  auto* u = table.create("", "x", "{}", false, 0).t;
  task_table::need_input(*u, {{"a", "{}"}, {"b", "{}"}}, 1);
  // unknown keys are ignored, a partial answer keeps input_required
  auto up = task_table::answer(*u, {{"nope", "{}"}, {"a", "{}"}}, 2);
  CHECK_FALSE(up.resume);
  CHECK(u->status == task_status::input_required);
  REQUIRE(u->asks.size() == 1);
  CHECK(u->asks[0].first == "b");
  // a key is asked once in a task's life
  task_table::answer(*u, {{"b", "{}"}}, 3);
  CHECK_FALSE(task_table::need_input(*u, {{"a", "{}"}}, 4));
}

TEST_CASE("limits per server and per client, owners, and expiry after the TTL") {
  task_limits lim;
  lim.max_tasks = 3;
  lim.max_per_client = 2;
  lim.ttl = std::chrono::milliseconds{10'000};
  task_table table{lim};
  CHECK(table.create("alice", "x", "{}", false, 0).t != nullptr);
  CHECK(table.create("alice", "x", "{}", false, 0).t != nullptr);
  auto third = table.create("alice", "x", "{}", false, 0);
  CHECK(third.t == nullptr);
  CHECK(third.refusal.find("per client") != std::string::npos);
  auto* bob = table.create("bob", "x", "{}", false, 0).t;
  REQUIRE(bob != nullptr);
  auto full = table.create("carol", "x", "{}", false, 0);
  CHECK(full.t == nullptr);
  CHECK(full.refusal.find("at most 3") != std::string::npos);
  // another client's task is unknown to alice
  CHECK(table.find(bob->id, "alice", 1) == nullptr);
  CHECK(table.find(bob->id, "bob", 1) == bob);
  int stopped = 0;
  bob->stop = [&] { ++stopped; };
  auto id = bob->id;
  CHECK(table.expire(9'000) == 0);
  CHECK(table.expire(10'000) == 3);
  CHECK(stopped == 1);
  CHECK(table.at(id) == nullptr);
  CHECK(table.create("carol", "x", "{}", false, 10'001).t != nullptr);
}

TEST_CASE("wire shapes: CreateTaskResult, GetTaskResult, acks, ids, times") {
  task_table table;
  auto* t = table.create("", "x", "{}", false, 1'764'806'400'123).t;
  CHECK(t->id.size() == 22); // 128 random bits, base64url
  CHECK(table.create("", "x", "{}", false, 0).t->id != t->id);
  auto created = parse(create_task_result(*t, "{}"));
  CHECK(std::string{created["resultType"].GetString()} == "task");
  CHECK(std::string{created["status"].GetString()} == "working");
  CHECK(std::string{created["createdAt"].GetString()} == "2025-12-04T00:00:00.123Z");
  CHECK(created["ttlMs"].GetInt64() == 3'600'000);
  CHECK(created["pollIntervalMs"].GetInt64() == 500);
  for (auto key : {"result", "error", "inputRequests", "requestState", "ttl", "pollInterval"})
    CHECK_FALSE(created.HasMember(key));
  task_table::need_input(*t, {{"k", R"({"method":"elicitation/create","params":{}})"}}, 2);
  auto waiting = parse(get_task_result(*t, "{}"));
  CHECK(std::string{waiting["resultType"].GetString()} == "complete");
  CHECK(waiting["inputRequests"]["k"]["method"] == "elicitation/create");
  task_table::answer(*t, {{"k", "{}"}}, 3);
  task_table::complete(*t, R"({"content":[],"isError":true})", 4);
  auto done = parse(get_task_result(*t, "{}"));
  CHECK(done["result"]["isError"].GetBool());
  CHECK_FALSE(done.HasMember("inputRequests"));
  auto ack = parse(task_ack("{}"));
  CHECK(ack.MemberCount() == 2);
  CHECK(parse(tasks_required_data())["requiredCapabilities"]["extensions"].HasMember(
    "io.modelcontextprotocol/tasks"));
}

TEST_CASE("in a cluster a task id names its node") {
  task_table table;
  table.set_node_tag(0xab12cd);
  auto* t = table.create("", "x", "{}", false, 0).t;
  REQUIRE(t != nullptr);
  CHECK(t->id.substr(0, 7) == "ab12cd.");
  CHECK(task_node_tag(t->id) == 0xab12cdu);
  task_table alone;
  CHECK_FALSE(task_node_tag(alone.create("", "x", "{}", false, 0).t->id).has_value());
  CHECK_FALSE(task_node_tag("xyz123.abc").has_value());
  CHECK_FALSE(task_node_tag("ab12cd").has_value());
}

TEST_CASE("engine: a task only when the request declares the extension") {
  fixture f;
  auto with = f.send(call(1, "work", ext_caps));
  REQUIRE(with.calls.size() == 1);
  CHECK(with.calls.front()->as_task());
  auto without = f.send(call(2, "work", "{}"));
  REQUIRE(without.calls.size() == 1);
  CHECK_FALSE(without.calls.front()->as_task());
  // a tool that runs only as a task: -32021 naming the extension, HTTP 400
  auto refused = f.send(call(3, "must", "{}"));
  REQUIRE(refused.messages.size() == 1);
  auto r = parse(refused.messages.front().json);
  CHECK(error_code(r) == errc::missing_client_capability);
  CHECK(r["error"]["data"]["requiredCapabilities"]["extensions"].HasMember(
    "io.modelcontextprotocol/tasks"));
  CHECK(refused.messages.front().http_status == 400);
  // discover advertises the extension
  auto d = final_response(f.h.stateless(
    R"({"jsonrpc":"2.0","id":4,"method":"server/discover","params":{)" + meta2026() + "}}"));
  CHECK(d["result"]["capabilities"]["extensions"].HasMember("io.modelcontextprotocol/tasks"));
  CHECK_FALSE(d["result"]["capabilities"].HasMember("tasks"));
}

TEST_CASE("engine: tasks/* need the extension, a taskId, and a matching Mcp-Name") {
  fixture f;
  CHECK(error_code(f.serve(task_req(1, "tasks/get", "x", "{}")))
        == errc::missing_client_capability);
  CHECK(error_code(f.serve(task_req(2, "tasks/update", "x", "{}", R"("inputResponses":{})")))
        == errc::missing_client_capability);
  CHECK(error_code(f.serve(task_req(3, "tasks/get", "nope"))) == errc::invalid_params);
  CHECK(error_code(f.serve(task_req(4, "tasks/update", "nope"))) == errc::invalid_params);
  for (auto m : {"tasks/result", "tasks/list"})
    CHECK(error_code(f.serve(task_req(5, m, "x"))) == errc::method_not_found);
  mcp_headers h;
  h.protocol_version = "2026-07-28";
  h.has_method = true;
  h.method = "tasks/get";
  h.has_name = true;
  h.name = "other";
  auto out = f.send(task_req(6, "tasks/get", "x"), &h);
  REQUIRE(out.messages.size() == 1);
  CHECK(error_code(parse(out.messages.front().json)) == errc::header_mismatch);
  h.name = "x";
  CHECK(f.send(task_req(7, "tasks/get", "x"), &h).task.has_value());
}

TEST_CASE("engine: rounds end completed, completed with isError, or failed") {
  fixture f;
  auto& ok = f.start(1, "work");
  CHECK(ok.status == task_status::completed);
  auto got = f.serve(task_req(2, "tasks/get", ok.id));
  CHECK(got["result"]["result"]["content"][0]["text"] == "done");
  CHECK(got["result"]["result"]["resultType"] == "complete");
  bool related = got["result"]["result"].HasMember("_meta")
                 && got["result"]["result"]["_meta"].HasMember(
                   "io.modelcontextprotocol/related-task");
  CHECK_FALSE(related);
  auto& tool_error = f.start(3, "must");
  CHECK(tool_error.status == task_status::completed);
  CHECK(parse(tool_error.result)["isError"].GetBool());
  auto& broken = f.start(4, "broken");
  CHECK(broken.status == task_status::failed);
  CHECK(parse(broken.error)["message"] == "it broke");
  // cancelling a finished task is acknowledged and changes nothing
  auto ack = f.serve(task_req(5, "tasks/cancel", ok.id));
  CHECK(ack["result"]["resultType"] == "complete");
  CHECK_FALSE(ack["result"].HasMember("status"));
  CHECK(ok.status == task_status::completed);
}

TEST_CASE("engine: input inside a task, answered in parts through tasks/update") {
  fixture f;
  auto& t = f.start(1, "ask2");
  CHECK(t.status == task_status::input_required);
  REQUIRE(t.asks.size() == 2);
  auto ack = f.serve(task_req(2, "tasks/update", t.id, ext_caps,
                              R"("inputResponses":{"a":{"action":"accept","content":{}},"zzz":{"x":1}})"));
  CHECK(ack["result"]["resultType"] == "complete");
  auto got = f.serve(task_req(3, "tasks/get", t.id));
  CHECK(got["result"]["status"] == "input_required");
  CHECK_FALSE(got["result"]["inputRequests"].HasMember("a"));
  CHECK(got["result"]["inputRequests"].HasMember("b"));
  f.serve(task_req(4, "tasks/update", t.id, ext_caps,
                   R"("inputResponses":{"b":{"action":"accept","content":{}}})"));
  CHECK(t.status == task_status::completed);
  CHECK(parse(t.result)["content"][0]["text"] == "both");
}

TEST_CASE("engine: input before the task by ordinary rounds, then the task") {
  fixture f;
  auto first = f.send(call(1, "first", ext_caps));
  REQUIRE(first.calls.size() == 1);
  CHECK_FALSE(first.calls.front()->as_task());
  auto answered = f.send(call(2, "first", ext_caps,
                              R"("inputResponses":{"name":{"action":"accept","content":{"name":"Alice"}}})"));
  REQUIRE(answered.calls.size() == 1);
  CHECK(answered.calls.front()->as_task());
}

TEST_CASE("engine: a task run again after a crash gets the answers it was given") {
  fixture f;
  auto& t = f.start(1, "ask2");
  f.serve(task_req(2, "tasks/update", t.id, ext_caps,
                   R"("inputResponses":{"a":{"action":"accept","content":{}}})"));
  // its runner crashed while it waited: the runtime rebuilds the call
  t.call.reset();
  auto again = rebuild_task_call(f.h.srv, t, ++f.now);
  REQUIRE(again != nullptr);
  CHECK(again->as_task());
  t.call = again;
  f.round(t);
  // only "b" is outstanding: "a" came back from the task's answers
  CHECK(t.status == task_status::input_required);
  REQUIRE(t.asks.size() == 1);
  CHECK(t.asks[0].first == "b");
}

} // TEST_SUITE

TEST_SUITE("idempotency keys") {

TEST_CASE("a key runs once: wait while running, replay when done, conflict on other calls") {
  idempotency_table table;
  using v = idempotency_table::verdict;
  CHECK(table.begin("s\nk", "d1", 0).v == v::run);
  CHECK(table.begin("s\nk", "d1", 1).v == v::wait);
  CHECK(table.begin("s\nk", "d2", 1).v == v::conflict);
  table.finish("s\nk", R"({"jsonrpc":"2.0","id":7,"result":{"content":[]}})", 2);
  auto again = table.begin("s\nk", "d1", 3);
  CHECK(again.v == v::replay);
  auto doc = parse(answer_again(again.answer, "9"));
  CHECK(doc["id"].GetInt() == 9);
  CHECK(doc["result"].HasMember("content"));
  // another scope is another key
  CHECK(table.begin("t\nk", "d1", 3).v == v::run);
  // a run refused before it started leaves nothing behind
  table.forget("t\nk");
  CHECK(table.begin("t\nk", "d1", 4).v == v::run);
}

TEST_CASE("keys expire after the TTL; a full table drops the oldest finished key") {
  idempotency_limits lim;
  lim.ttl = std::chrono::milliseconds{5000};
  lim.max_keys = 2;
  idempotency_table table{lim};
  using v = idempotency_table::verdict;
  CHECK(table.begin("a", "d", 1000).v == v::run);
  CHECK(table.begin("b", "d", 1001).v == v::run);
  CHECK(table.begin("c", "d", 1002).v == v::full); // both still running
  table.finish("a", "{}", 1003);
  CHECK(table.begin("c", "d", 1004).v == v::run); // "a" made room
  CHECK(table.begin("a", "d", 1005).v == v::full);
  CHECK(table.expire(6100) == 2);
  CHECK(table.begin("a", "d", 6101).v == v::run);
}

TEST_CASE("engine: the key is read from _meta, checked, and scoped") {
  fixture f;
  auto keyed_call = [](int id, std::string_view key_json) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
           + R"(,"method":"tools/call","params":{"name":"work","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"dev.mcpvisor/idempotencyKey":)"
           + std::string{key_json} + "}}}";
  };
  auto keyed = f.send(keyed_call(1, R"("abc")"));
  REQUIRE(keyed.calls.size() == 1);
  CHECK(keyed.calls.front()->idempotency_key() == "client:\nabc");
  CHECK_FALSE(keyed.calls.front()->idempotency_digest().empty());
  for (auto bad : {R"(42)", R"("")"}) {
    auto out = f.send(keyed_call(2, bad));
    REQUIRE(out.messages.size() == 1);
    CHECK(error_code(parse(out.messages.front().json)) == errc::invalid_params);
  }
}

} // TEST_SUITE
