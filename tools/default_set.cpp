// The default set: a few useful tools for trying mcpvisor out, and the files
// under a root directory as resources.

#include <chrono>
#include <cstdio>
#include <ctime>

#include "tools/tool_sets.hpp"

namespace mcpvisor::tools {

namespace {

using namespace protocol;

tool_definition echo() {
  tool_definition t;
  t.name = "echo";
  t.title = "Echo";
  t.description = "Returns the text it is given.";
  t.input_schema
    = R"({"type":"object","properties":{"text":{"type":"string","description":"Text to echo","maxLength":65536}},"required":["text"],"additionalProperties":false})";
  t.annotations = {"Echo", true, false, true, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) {
    return tool_result::text(ctx.arg_string("text"));
  };
  return t;
}

tool_definition add() {
  tool_definition t;
  t.name = "add";
  t.title = "Add";
  t.description = "Adds two numbers and returns the sum as text and as "
                  "structured content.";
  t.input_schema
    = R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"],"additionalProperties":false})";
  t.output_schema
    = R"({"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]})";
  t.annotations = {"Add", true, false, true, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) {
    double sum = ctx.arguments()["a"].GetDouble() + ctx.arguments()["b"].GetDouble();
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", sum);
    tool_result r = tool_result::text(buf);
    r.structured = std::string{R"({"sum":)"} + buf + "}";
    return r;
  };
  return t;
}

tool_definition countdown() {
  tool_definition t;
  t.name = "countdown";
  t.title = "Countdown";
  t.description = "Waits the given number of seconds, reporting progress "
                  "each second; stops early when the call is cancelled.";
  t.input_schema
    = R"({"type":"object","properties":{"seconds":{"type":"integer","minimum":1,"maximum":60}},"required":["seconds"],"additionalProperties":false})";
  t.annotations = {"Countdown", true, false, true, false};
  t.tasks = task_support::optional;
  t.timeout = std::chrono::seconds{90};
  t.handler = [](call_context& ctx) {
    int seconds = ctx.arguments()["seconds"].GetInt();
    for (int i = 0; i < seconds; ++i) {
      ctx.progress(i, seconds, std::to_string(seconds - i) + " s left");
      if (!ctx.sleep_for(std::chrono::seconds{1}))
        return tool_result::error("cancelled after " + std::to_string(i)
                                  + " s");
    }
    ctx.progress(seconds, seconds, "done");
    return tool_result::text("waited " + std::to_string(seconds) + " s");
  };
  return t;
}

tool_definition now() {
  tool_definition t;
  t.name = "time";
  t.title = "Time";
  t.description = "The current UTC time in ISO 8601.";
  t.annotations = {"Time", true, false, false, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context&) {
    auto secs = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return tool_result::text(buf);
  };
  return t;
}

tool_definition ask_user() {
  tool_definition t;
  t.name = "ask_user";
  t.title = "Ask the user";
  t.description = "Asks the user a question through the client (elicitation) "
                  "and returns the answer.";
  t.input_schema
    = R"({"type":"object","properties":{"question":{"type":"string"}},"required":["question"]})";
  t.requires_capabilities = {"elicitation"};
  t.handler = [](call_context& ctx) -> tool_result {
    auto a = ctx.ask("answer", input_request::elicit_form(
                                 ctx.arg_string("question"),
                                 R"({"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]})"));
    if (!a)
      return ctx.input_required();
    if (!a->ok())
      return tool_result::error("the client could not ask: " + to_json(*a->error));
    auto action = as_string(find_member(a->result, "action")).value_or("cancel");
    if (action != "accept")
      return tool_result::text("the user chose to " + std::string{action});
    auto* content = find_member(a->result, "content");
    return tool_result::text(
      std::string{as_string(find_member(content, "answer")).value_or("")});
  };
  return t;
}

prompt_definition review() {
  prompt_definition p;
  p.name = "review";
  p.title = "Review a text";
  p.description = "Asks the model to review a text for a given audience.";
  p.arguments = {{"text", "Text", "The text to review", true},
                 {"audience", "Audience", "Who will read it", false}};
  p.handler = [](call_context& ctx) {
    prompt_result r;
    r.description = "Review for " + std::string{ctx.arg_string("audience", "a general audience")};
    r.messages.push_back(
      {"user", content_block::text("Please review the following text for "
                                   + std::string{ctx.arg_string("audience", "a general audience")}
                                   + ":\n\n" + std::string{ctx.arg_string("text")})});
    return r;
  };
  p.complete["audience"] = [](std::string_view prefix, const uri_template::variables&) {
    std::vector<std::string> out;
    for (auto a : {"engineers", "executives", "customers", "students"})
      if (std::string_view{a}.substr(0, prefix.size()) == prefix)
        out.emplace_back(a);
    return out;
  };
  return p;
}

} // namespace

std::optional<std::string> add_default_set(catalog& cat, tool_set&,
                                           const tool_set_options& opts) {
  for (auto t : {echo(), add(), countdown(), now(), ask_user()})
    if (auto err = cat.add_tool(std::move(t)))
      return err;
  if (auto err = cat.add_prompt(review()))
    return err;
  if (!opts.files_root.empty())
    return add_file_resources(cat, opts.files_root);
  return std::nullopt;
}

std::optional<tool_set> load_tool_set(std::string_view name, catalog& cat,
                                      const tool_set_options& opts,
                                      std::string* error) {
  tool_set set;
  set.name = std::string{name};
  std::optional<std::string> err;
  if (name == "default")
    err = add_default_set(cat, set, opts);
  else if (name == "conformance")
    err = add_conformance_set(cat, set);
  else if (name == "drill")
    err = add_drill_set(cat, set, opts);
  else if (name == "none") {
    if (!opts.files_root.empty())
      err = add_file_resources(cat, opts.files_root);
  } else
    err = "unknown tool set '" + std::string{name}
          + "' (known: default, conformance, drill, none)";
  if (err) {
    if (error != nullptr)
      *error = *err;
    return std::nullopt;
  }
  return set;
}

} // namespace mcpvisor::tools
