#include "tests/protocol/harness.hpp"

#include <doctest/doctest.h>

namespace mcpvisor::test {

using namespace proto;

harness::harness(engine_config cfg, bool with_test_definitions)
  : srv(cat, std::move(cfg)), sess(srv) {
  if (with_test_definitions)
    add_test_definitions(cat);
}

void harness::drain(engine_output& out, std::vector<outgoing>& msgs,
                    bool stateless) {
  auto end_round = [&](pending_call& c) {
    if (stateless)
      finish_stateless(srv, c, out);
    else
      sess.finish(c, out);
  };
  for (;;) {
    for (auto& m : out.messages)
      msgs.push_back(std::move(m));
    out.messages.clear();
    // rounds that were deferred and have ended since
    auto resumed = std::move(io->resumed);
    io->resumed.clear();
    for (auto& c : resumed)
      end_round(*c);
    if (out.calls.empty() && resumed.empty())
      return;
    auto calls = std::move(out.calls);
    out.calls.clear();
    for (auto& c : calls) {
      c->context().set_io(io.get(), io);
      io->sent.clear();
      c->run();
      for (auto& n : io->sent) {
        outgoing o;
        o.json = n;
        o.stream = c->id();
        msgs.push_back(std::move(o));
      }
      end_round(*c);
    }
  }
}

std::vector<outgoing> harness::send(std::string json) {
  message msg;
  engine_output out;
  std::vector<outgoing> msgs;
  if (auto err = decode(std::move(json), msg, srv.config().limits)) {
    msgs.push_back(decode_failure(*err));
    return msgs;
  }
  sess.receive(msg, out);
  drain(out, msgs, false);
  return msgs;
}

void harness::init(std::string_view version, std::string_view caps) {
  auto r = send(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")"
                + std::string{version} + R"(","capabilities":)" + std::string{caps}
                + R"(,"clientInfo":{"name":"t","version":"1"}}})");
  REQUIRE(r.size() == 1);
  send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
}

std::vector<outgoing> harness::stateless(std::string json,
                                         const mcp_headers* h) {
  message msg;
  engine_output out;
  std::vector<outgoing> msgs;
  if (auto err = decode(std::move(json), msg, srv.config().limits)) {
    msgs.push_back(decode_failure(*err));
    return msgs;
  }
  serve_stateless(srv, msg, h, out);
  drain(out, msgs, true);
  return msgs;
}

json_document parse(const std::string& json) {
  json_document d;
  d.Parse(json.data(), json.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

json_document final_response(const std::vector<outgoing>& msgs) {
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
    if (it->final)
      return parse(it->json);
  FAIL("no final response");
  return {};
}

int error_code(const json_document& doc) {
  auto* e = find_member(&doc, "error");
  auto* c = find_member(e, "code");
  return c != nullptr && c->IsInt() ? c->GetInt() : 0;
}

std::string meta2026(std::string_view caps, std::string_view extra) {
  std::string m = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":)";
  m += caps;
  if (!extra.empty()) {
    m += ',';
    m += extra;
  }
  m += '}';
  return m;
}

void add_test_definitions(catalog& cat) {
  tool_definition echo;
  echo.name = "echo";
  echo.description = "Echoes text";
  echo.input_schema
    = R"({"type":"object","properties":{"text":{"type":"string","maxLength":50}},"required":["text"],"additionalProperties":false})";
  echo.exec = execution::inline_call;
  echo.annotations.read_only = true;
  echo.handler = [](call_context& ctx) {
    return tool_result::text(ctx.arg_string("text"));
  };
  REQUIRE_FALSE(cat.add_tool(echo));

  tool_definition progress;
  progress.name = "progress";
  progress.description = "Reports progress";
  progress.handler = [](call_context& ctx) {
    ctx.progress(0, 2, "start");
    ctx.progress(1, 2);
    ctx.progress(1, 2); // not increasing: dropped
    ctx.progress(2, 2, "done");
    ctx.log(log_level::info, "working", "test");
    ctx.log(log_level::debug, "detail");
    return tool_result::text(ctx.cancelled() ? "cancelled" : "finished");
  };
  REQUIRE_FALSE(cat.add_tool(progress));

  tool_definition ask;
  ask.name = "ask";
  ask.description = "Asks the user and an LLM";
  ask.handler = [](call_context& ctx) -> tool_result {
    auto name = ctx.ask("name", input_request::elicit_form(
                                  "Name?",
                                  R"({"type":"object","properties":{"name":{"type":"string"}}})"));
    auto llm = ctx.ask("llm", input_request::sample_text("Hi?", 10));
    if (!name || !llm)
      return ctx.input_required();
    if (!name->ok())
      return tool_result::error("elicitation failed");
    auto* content = find_member(name->result, "content");
    auto who = as_string(find_member(content, "name")).value_or("?");
    return tool_result::text("hello " + std::string{who});
  };
  REQUIRE_FALSE(cat.add_tool(ask));

  tool_definition rounds;
  rounds.name = "rounds";
  rounds.description = "Two rounds of questions with state";
  rounds.handler = [](call_context& ctx) -> tool_result {
    auto first = ctx.ask("first", input_request::elicit_form("1?", R"({"type":"object"})"));
    if (!first)
      return ctx.input_required();
    ctx.set_state(R"({"round":2})");
    auto second = ctx.ask("second", input_request::list_roots());
    if (!second)
      return ctx.input_required();
    auto* st = ctx.state();
    return tool_result::text(st != nullptr ? "done with state" : "done");
  };
  REQUIRE_FALSE(cat.add_tool(rounds));

  tool_definition fails;
  fails.name = "fails";
  fails.description = "Reports a tool error";
  fails.handler = [](call_context&) -> tool_result {
    throw tool_error("the disk is full");
  };
  REQUIRE_FALSE(cat.add_tool(fails));

  tool_definition typed;
  typed.name = "typed";
  typed.description = "Has an output schema";
  typed.output_schema = R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})";
  typed.handler = [](call_context& ctx) {
    tool_result r = tool_result::text("n");
    r.structured = ctx.arg_string("bad") == "yes" ? R"({"n":"x"})" : R"({"n":1})";
    return r;
  };
  REQUIRE_FALSE(cat.add_tool(typed));

  tool_definition needs;
  needs.name = "needs_sampling";
  needs.description = "Needs sampling";
  needs.requires_capabilities = {"sampling"};
  needs.handler = [](call_context&) { return tool_result::text("ok"); };
  REQUIRE_FALSE(cat.add_tool(needs));

  tool_definition headers;
  headers.name = "region_tool";
  headers.description = "Mirrors region into a header";
  headers.input_schema
    = R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"count":{"type":"integer","x-mcp-header":"Count"}}})";
  headers.handler = [](call_context& ctx) {
    return tool_result::text(ctx.arg_string("region"));
  };
  REQUIRE_FALSE(cat.add_tool(headers));

  resource_definition text;
  text.uri = "test://text";
  text.name = "text";
  text.mime_type = "text/plain";
  text.handler = [](call_context& ctx) {
    read_result r;
    r.contents.push_back(resource_contents::text(ctx.uri(), "text/plain", "hello"));
    return r;
  };
  REQUIRE_FALSE(cat.add_resource(text));

  resource_template_definition tmpl;
  tmpl.uri_template = "test://items/{id}";
  tmpl.name = "items";
  tmpl.handler = [](call_context& ctx) {
    read_result r;
    auto it = ctx.uri_variables().find("id");
    if (it == ctx.uri_variables().end() || it->second == "missing")
      return read_result::missing();
    r.contents.push_back(resource_contents::text(ctx.uri(), "text/plain", it->second));
    return r;
  };
  tmpl.complete["id"] = [](std::string_view prefix, const uri_template::variables&) {
    std::vector<std::string> out;
    for (auto v : {"apple", "apricot", "banana"})
      if (std::string_view{v}.substr(0, prefix.size()) == prefix)
        out.emplace_back(v);
    return out;
  };
  REQUIRE_FALSE(cat.add_resource_template(tmpl));

  prompt_definition greet;
  greet.name = "greet";
  greet.description = "Greets";
  greet.arguments = {{"name", "", "Who", true}, {"mood", "", "How", false}};
  greet.handler = [](call_context& ctx) {
    prompt_result r;
    r.messages.push_back({"user", content_block::text("Hello " + std::string{ctx.arg_string("name")})});
    return r;
  };
  greet.complete["name"] = [](std::string_view, const uri_template::variables&) {
    return std::vector<std::string>{"Ada", "Alan"};
  };
  REQUIRE_FALSE(cat.add_prompt(greet));
}

} // namespace mcpvisor::test
