// The fixture the official MCP conformance suite expects. Behaviour follows
// the suite's scenario descriptions (modelcontextprotocol/conformance,
// src/scenarios/server/): names, content shapes, delays, server-to-client
// requests and the 2026-07-28 multi-round-trip tools.

#include <algorithm>
#include <atomic>
#include <memory>

#include "tools/tool_sets.hpp"

namespace mcpvisor::tools {

namespace {

using namespace protocol;
using namespace std::chrono_literals;

// A 1x1 red PNG and a minimal WAV file.
constexpr std::string_view png
  = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr std::string_view wav
  = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

constexpr std::string_view no_args = R"j({"type":"object","properties":{}})j";

/// Text of `field` in an elicitation answer's content, or "unknown".
std::string answer_field(const input_answer& a, std::string_view field) {
  auto* content = find_member(a.result, "content");
  return std::string{as_string(find_member(content, field)).value_or("unknown")};
}

std::string content_json(const input_answer& a) {
  auto* content = find_member(a.result, "content");
  return content != nullptr ? to_json(*content) : std::string{"{}"};
}

tool_definition tool(std::string name, std::string description,
                     tool_handler handler,
                     std::string schema = std::string{no_args}) {
  tool_definition t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.input_schema = std::move(schema);
  t.handler = std::move(handler);
  return t;
}

/// An elicitation whose answer becomes the tool's text.
tool_definition elicitation_tool(std::string name, std::string description,
                                 std::string message, std::string schema,
                                 std::string prefix) {
  return tool(std::move(name), std::move(description),
              [message, schema, prefix](call_context& ctx) -> tool_result {
                auto msg = ctx.arg_string("message", message);
                auto a = ctx.ask("form", input_request::elicit_form(msg, schema));
                if (!a)
                  return ctx.input_required();
                if (!a->ok())
                  return tool_result::error("Elicitation failed: "
                                            + to_json(*a->error));
                auto action = as_string(find_member(a->result, "action"));
                return tool_result::text(prefix + "action="
                                         + std::string{action.value_or("?")}
                                         + ", content=" + content_json(*a));
              });
}

std::string name_schema(std::string_view field) {
  return R"j({"type":"object","properties":{")j" + std::string{field}
         + R"j(":{"type":"string"}},"required":[")j" + std::string{field} + R"j("]})j";
}

std::optional<std::string> add_tools(catalog& cat) {
  std::vector<tool_definition> tools;
  tools.push_back(tool("test_simple_text", "Tests simple text content response",
                       [](call_context&) {
                         return tool_result::text(
                           "This is a simple text response for testing.");
                       }));
  tools.back().exec = execution::inline_call;
  tools.push_back(tool("test_image_content", "Tests image content response",
                       [](call_context&) {
                         tool_result r;
                         r.content.push_back(content_block::image(png, "image/png"));
                         return r;
                       }));
  tools.push_back(tool("test_audio_content", "Tests audio content response",
                       [](call_context&) {
                         tool_result r;
                         r.content.push_back(content_block::audio(wav, "audio/wav"));
                         return r;
                       }));
  tools.push_back(tool("test_embedded_resource",
                       "Tests embedded resource content response",
                       [](call_context&) {
                         tool_result r;
                         r.content.push_back(content_block::embedded_text(
                           "test://embedded-resource", "text/plain",
                           "This is an embedded resource content."));
                         return r;
                       }));
  tools.push_back(tool(
    "test_multiple_content_types",
    "Tests response with multiple content types (text, image, resource)",
    [](call_context&) {
      tool_result r;
      r.content.push_back(content_block::text("Multiple content types test:"));
      r.content.push_back(content_block::image(png, "image/png"));
      r.content.push_back(content_block::embedded_text(
        "test://mixed-content-resource", "application/json",
        R"j({"test":"data","value":123})j"));
      return r;
    }));
  tools.push_back(tool("test_tool_with_logging",
                       "Tests tool that emits log messages during execution",
                       [](call_context& ctx) {
                         ctx.log(log_level::info, "Tool execution started");
                         ctx.sleep_for(50ms);
                         ctx.log(log_level::info, "Tool processing data");
                         ctx.sleep_for(50ms);
                         ctx.log(log_level::info, "Tool execution completed");
                         return tool_result::text(
                           "Tool with logging executed successfully");
                       }));
  tools.push_back(tool("test_tool_with_progress",
                       "Tests tool that reports progress notifications",
                       [](call_context& ctx) {
                         for (int step : {0, 50, 100}) {
                           ctx.progress(step, 100,
                                        "Completed step " + std::to_string(step)
                                          + " of 100");
                           if (step < 100 && !ctx.sleep_for(50ms))
                             return tool_result::error("cancelled");
                         }
                         return tool_result::text("Progress reported: 0, 50, 100");
                       }));
  tools.push_back(tool("test_error_handling", "Tests error response handling",
                       [](call_context&) -> tool_result {
                         throw tool_error(
                           "This tool intentionally returns an error for testing");
                       }));
  tools.push_back(tool(
    "test_reconnection",
    "Tests SSE stream disconnection and client reconnection (SEP-1699): the "
    "server closes the stream mid-call and the result arrives after the "
    "client reconnects",
    [](call_context& ctx) {
      ctx.close_stream();
      ctx.sleep_for(100ms);
      return tool_result::text(
        "Reconnection test completed successfully. If you received this, the "
        "client properly reconnected after stream closure.");
    }));
  tools.push_back(tool(
    "test_sampling", "Tests server-initiated sampling (LLM completion request)",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("sample", input_request::sample_text(
                                   ctx.arg_string("prompt"), 100));
      if (!a)
        return ctx.input_required();
      if (!a->ok())
        return tool_result::error("Sampling failed: " + to_json(*a->error));
      auto* content = find_member(a->result, "content");
      auto text = as_string(find_member(content, "text")).value_or("No response");
      return tool_result::text("LLM response: " + std::string{text});
    },
    R"j({"type":"object","properties":{"prompt":{"type":"string","description":"The prompt to send to the LLM"}},"required":["prompt"]})j"));
  tools.push_back(elicitation_tool(
    "test_elicitation", "Tests server-initiated elicitation (user input request)",
    "Please provide your information",
    R"j({"type":"object","properties":{"response":{"type":"string","description":"User's response"}},"required":["response"]})j",
    "User response: "));
  tools.back().input_schema
    = R"j({"type":"object","properties":{"message":{"type":"string","description":"The message to show the user"}},"required":["message"]})j";
  tools.push_back(elicitation_tool(
    "test_elicitation_sep1034_defaults",
    "Tests elicitation with default values per SEP-1034",
    "Please review and update the form fields with defaults",
    R"j({"type":"object","properties":{)j"
    R"j("name":{"type":"string","description":"User name","default":"John Doe"},)j"
    R"j("age":{"type":"integer","description":"User age","default":30},)j"
    R"j("score":{"type":"number","description":"User score","default":95.5},)j"
    R"j("status":{"type":"string","description":"User status","enum":["active","inactive","pending"],"default":"active"},)j"
    R"j("verified":{"type":"boolean","description":"Verification status","default":true}},"required":[]})j",
    "Elicitation completed: "));
  tools.push_back(elicitation_tool(
    "test_elicitation_sep1330_enums",
    "Tests elicitation with enum schema improvements per SEP-1330",
    "Please select options from the enum fields",
    R"j({"type":"object","properties":{)j"
    R"j("untitledSingle":{"type":"string","description":"Select one option","enum":["option1","option2","option3"]},)j"
    R"j("titledSingle":{"type":"string","description":"Select one option with titles","oneOf":[{"const":"value1","title":"First Option"},{"const":"value2","title":"Second Option"},{"const":"value3","title":"Third Option"}]},)j"
    R"j("legacyEnum":{"type":"string","description":"Select one option (legacy)","enum":["opt1","opt2","opt3"],"enumNames":["Option One","Option Two","Option Three"]},)j"
    R"j("untitledMulti":{"type":"array","description":"Select multiple options","minItems":1,"maxItems":3,"items":{"type":"string","enum":["option1","option2","option3"]}},)j"
    R"j("titledMulti":{"type":"array","description":"Select multiple options with titles","minItems":1,"maxItems":3,"items":{"anyOf":[{"const":"value1","title":"First Choice"},{"const":"value2","title":"Second Choice"},{"const":"value3","title":"Third Choice"}]}}},"required":[]})j",
    "Elicitation completed: "));
  tools.push_back(tool(
    "json_schema_2020_12_tool",
    "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
    [](call_context& ctx) {
      return tool_result::text("JSON Schema 2020-12 tool called with: "
                               + to_json(ctx.arguments()));
    },
    R"j({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",)j"
    R"j("$defs":{"address":{"$anchor":"addressDef","type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},)j"
    R"j("properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"},"contactMethod":{"type":"string","enum":["phone","email"]},"phone":{"type":"string"},"email":{"type":"string"}},)j"
    R"j("allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],)j"
    R"j("if":{"properties":{"contactMethod":{"const":"phone"}},"required":["contactMethod"]},)j"
    R"j("then":{"required":["phone"]},"else":{"required":["email"]},"additionalProperties":false})j"));
  tools.push_back(tool("test_header_param",
                       "Mirrors its region argument into the Mcp-Param-Region "
                       "header (SEP-2243)",
                       [](call_context& ctx) {
                         return tool_result::text("region: "
                                                  + std::string{ctx.arg_string("region")});
                       },
                       R"j({"type":"object","properties":{"region":{"type":"string","description":"Region to run in","x-mcp-header":"Region"}}})j"));
  // -- 2026-07-28: capabilities and multi round-trip requests --
  tools.push_back(tool("test_missing_capability", "Test tool requiring sampling",
                       [](call_context&) { return tool_result::text("Success"); }));
  tools.back().requires_capabilities = {"sampling"};
  tools.push_back(tool(
    "test_input_required_result_elicitation",
    "MRTR: returns InputRequiredResult with elicitation request",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("user_name", input_request::elicit_form(
                                      "What is your name?", name_schema("name")));
      if (!a)
        return ctx.input_required();
      return tool_result::text("Hello, " + answer_field(*a, "name") + "!");
    }));
  tools.push_back(tool(
    "test_input_required_result_sampling",
    "MRTR: returns InputRequiredResult with sampling request",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("sample_request", input_request::sample_text(
                                           "What is the capital of France?", 100));
      if (!a)
        return ctx.input_required();
      auto* content = find_member(a->result, "content");
      return tool_result::text(
        "Sampling result: "
        + std::string{as_string(find_member(content, "text")).value_or("no response")});
    }));
  tools.push_back(tool(
    "test_input_required_result_list_roots",
    "MRTR: returns InputRequiredResult with roots/list request",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("roots_request", input_request::list_roots());
      if (!a)
        return ctx.input_required();
      auto* roots = find_member(a->result, "roots");
      size_t n = roots != nullptr && roots->IsArray() ? roots->Size() : 0;
      return tool_result::text("Found " + std::to_string(n) + " root(s)");
    }));
  tools.push_back(tool(
    "test_input_required_result_request_state",
    "MRTR: returns InputRequiredResult with requestState",
    [](call_context& ctx) -> tool_result {
      ctx.set_state(R"j({"kind":"request-state"})j");
      auto a = ctx.ask("confirm", input_request::elicit_form(
                                    "Please confirm",
                                    R"j({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]})j"));
      if (!a)
        return ctx.input_required();
      auto* ok = find_member(find_member(a->result, "content"), "ok");
      if (ok != nullptr && ok->IsBool() && ok->GetBool())
        return tool_result::text("state-ok: requestState validated");
      return tool_result::error("not confirmed");
    }));
  tools.push_back(tool(
    "test_input_required_result_multiple_inputs",
    "MRTR: returns InputRequiredResult with multiple input requests",
    [](call_context& ctx) -> tool_result {
      ctx.set_state(R"j({"kind":"multiple-inputs"})j");
      auto name = ctx.ask("user_name", input_request::elicit_form(
                                         "What is your name?", name_schema("name")));
      auto greeting = ctx.ask("greeting",
                              input_request::sample_text("Generate a greeting", 50));
      auto roots = ctx.ask("client_roots", input_request::list_roots());
      if (!name || !greeting || !roots)
        return ctx.input_required();
      auto* content = find_member(greeting->result, "content");
      auto* list = find_member(roots->result, "roots");
      size_t n = list != nullptr && list->IsArray() ? list->Size() : 0;
      return tool_result::text(
        "Name: " + answer_field(*name, "name") + "; Greeting: "
        + std::string{as_string(find_member(content, "text")).value_or("Hello there!")}
        + "; Roots: " + std::to_string(n));
    }));
  tools.push_back(tool(
    "test_input_required_result_multi_round",
    "MRTR: multi-round InputRequiredResult workflow",
    [](call_context& ctx) -> tool_result {
      auto step1 = ctx.ask("step1", input_request::elicit_form(
                                      "Step 1: What is your name?",
                                      name_schema("name")));
      if (!step1)
        return ctx.input_required();
      ctx.set_state(R"j({"round":2})j");
      auto step2 = ctx.ask("step2", input_request::elicit_form(
                                      "Step 2: What is your favorite color?",
                                      name_schema("color")));
      if (!step2)
        return ctx.input_required();
      return tool_result::text("Multi-round complete for "
                               + answer_field(*step1, "name") + " who likes "
                               + answer_field(*step2, "color"));
    }));
  tools.push_back(tool(
    "test_input_required_result_tampered_state",
    "MRTR: HMAC-signed requestState integrity test",
    [](call_context& ctx) -> tool_result {
      ctx.set_state(R"j({"kind":"tamper-test"})j");
      auto a = ctx.ask("confirm", input_request::elicit_form(
                                    "Please confirm",
                                    R"j({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]})j"));
      if (!a)
        return ctx.input_required();
      return tool_result::text("integrity-ok: state verified");
    }));
  tools.push_back(tool(
    "test_input_required_result_capabilities",
    "MRTR: respects client capabilities in inputRequests",
    [](call_context& ctx) -> tool_result {
      bool elicit = ctx.client_supports("elicitation");
      bool sample = ctx.client_supports("sampling");
      if (!elicit && !sample)
        return tool_result::text("No supported capabilities declared");
      std::optional<input_answer> e;
      std::optional<input_answer> s;
      if (elicit)
        e = ctx.ask("elicit_input", input_request::elicit_form(
                                      "Elicitation input", name_schema("value")));
      if (sample)
        s = ctx.ask("sample_input", input_request::sample_text("Sample request", 50));
      if ((elicit && !e) || (sample && !s))
        return ctx.input_required();
      std::string got;
      if (e)
        got += "elicit_input";
      if (s)
        got += got.empty() ? "sample_input" : ",sample_input";
      return tool_result::text("capabilities-ok: received " + got);
    }));
  tools.push_back(tool(
    "test_streaming_elicitation",
    "Diagnostic tool validating response progress streams",
    [](call_context& ctx) {
      ctx.progress(50, 100, "halfway");
      return tool_result::text("Streaming complete");
    }));
  tools.push_back(tool(
    "test_elicitation_url_complete",
    "URL-mode elicitation (2025-11-25): sends the user to a sign-in page and, "
    "once the out-of-band step is done, notifies elicitation/complete",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("sign_in", input_request::elicit_url(
                                    "Sign in to continue",
                                    "https://sign-in.example.invalid/authorize?state="
                                      + ctx.elicitation_id("sign_in")));
      if (!a)
        return ctx.input_required();
      auto action = as_string(find_member(a->result, "action")).value_or("cancel");
      if (action != "accept")
        return tool_result::text("sign-in " + std::string{action});
      // the out-of-band step (here: a moment standing in for it) is done
      ctx.sleep_for(100ms);
      ctx.elicitation_complete("sign_in");
      return tool_result::text("signed in");
    }));
  tools.push_back(tool("test_logging_tool", "Diagnostic logging validator tool",
                       [](call_context& ctx) {
                         ctx.log(log_level::info,
                                 "Diagnostic trace logging activated");
                         return tool_result::text("Logging evaluated");
                       }));
  for (auto& t : tools)
    if (auto err = cat.add_tool(std::move(t)))
      return err;
  return std::nullopt;
}

/// The tools the tasks extension's scenarios call (io.modelcontextprotocol/
/// tasks, 2026-07-28).
std::optional<std::string> add_task_tools(catalog& cat) {
  std::vector<tool_definition> tools;
  tools.push_back(tool("greet", "Greets by name (never a task)",
                       [](call_context& ctx) {
                         return tool_result::text("Hello, " + std::string{ctx.arg_string("name")}
                                                  + "!");
                       },
                       R"j({"type":"object","properties":{"name":{"type":"string"}}})j"));
  auto slow = tool(
    "slow_compute", "Sleeps `seconds` and reports progress; a task when the client allows",
    [](call_context& ctx) -> tool_result {
      auto* s = find_member(&ctx.arguments(), "seconds");
      int seconds = s != nullptr && s->IsInt() ? std::clamp(s->GetInt(), 0, 600) : 1;
      for (int i = 0; i < seconds * 10; ++i) {
        if (i % 10 == 0)
          ctx.progress(i / 10, seconds, "computing");
        if (!ctx.sleep_for(100ms))
          throw request_failure("slow_compute was cancelled");
      }
      return tool_result::text("computed " + std::string{ctx.arg_string("label")} + " in "
                               + std::to_string(seconds) + " s");
    },
    R"j({"type":"object","properties":{"seconds":{"type":"integer","minimum":0},"label":{"type":"string"}}})j");
  slow.tasks = task_support::optional;
  slow.timeout = std::chrono::minutes{11};
  tools.push_back(std::move(slow));
  auto failing = tool("failing_job", "Runs only as a task and ends with a tool error",
                      [](call_context& ctx) -> tool_result {
                        ctx.sleep_for(1s);
                        return tool_result::error("failing_job failed, as it always does");
                      });
  failing.tasks = task_support::required;
  tools.push_back(std::move(failing));
  auto broken = tool("protocol_error_job", "A task that fails with a JSON-RPC error",
                     [](call_context& ctx) -> tool_result {
                       ctx.sleep_for(200ms);
                       throw request_failure("protocol_error_job failed with a protocol error");
                     });
  broken.tasks = task_support::required;
  tools.push_back(std::move(broken));
  auto confirm = tool(
    "confirm_delete", "Asks the client to confirm before it deletes a file (a task)",
    [](call_context& ctx) -> tool_result {
      std::string file{ctx.arg_string("filename")};
      auto a = ctx.ask("confirm", input_request::elicit_form(
                                    "Delete " + file + "?",
                                    R"j({"type":"object","properties":{"confirm":{"type":"boolean"}}})j"));
      if (!a)
        return ctx.input_required();
      auto* yes = find_member(find_member(a->result, "content"), "confirm");
      bool confirmed = yes != nullptr && yes->IsBool() && yes->GetBool();
      return tool_result::text(confirmed ? "deleted " + file : "kept " + file);
    },
    R"j({"type":"object","properties":{"filename":{"type":"string"}}})j");
  confirm.tasks = task_support::optional;
  tools.push_back(std::move(confirm));
  auto multi = tool(
    "multi_input", "Asks two questions at once (a task)",
    [](call_context& ctx) -> tool_result {
      constexpr auto schema
        = R"j({"type":"object","properties":{"name":{"type":"string"},"confirm":{"type":"boolean"}}})j";
      auto first = ctx.ask("first", input_request::elicit_form("First question", schema));
      auto second = ctx.ask("second", input_request::elicit_form("Second question", schema));
      if (!first || !second)
        return ctx.input_required();
      return tool_result::text("answers: " + answer_field(*first, "name") + ", "
                               + answer_field(*second, "name"));
    });
  multi.tasks = task_support::optional;
  tools.push_back(std::move(multi));
  auto composed = tool(
    "test_tool_with_task",
    "Asks for a name by multi-round-trip requests, then runs as a task",
    [](call_context& ctx) -> tool_result {
      auto a = ctx.ask("user_name", input_request::elicit_form(
                                      "What is your name?", name_schema("name")));
      if (!a)
        return ctx.input_required();
      ctx.sleep_for(200ms);
      return tool_result::text("Hello from the task, " + answer_field(*a, "name"));
    });
  composed.tasks = task_support::required;
  composed.input_before_task = true;
  tools.push_back(std::move(composed));
  for (auto& t : tools)
    if (auto err = cat.add_tool(std::move(t)))
      return err;
  return std::nullopt;
}

/// A tool that is added and removed by the change triggers, so that list
/// changes are real changes, not just notifications.
tool_definition dynamic_tool() {
  return tool("test_dynamic_tool", "Appears and disappears with test_trigger_tool_change",
              [](call_context&) { return tool_result::text("dynamic"); });
}

prompt_definition dynamic_prompt() {
  prompt_definition p;
  p.name = "test_dynamic_prompt";
  p.description = "Appears and disappears with test_trigger_prompt_change";
  p.handler = [](call_context&) {
    prompt_result r;
    r.messages.push_back({"user", content_block::text("dynamic")});
    return r;
  };
  return p;
}

std::optional<std::string> add_triggers(catalog& cat) {
  auto toggled = std::make_shared<std::atomic<bool>>(false);
  auto t = tool("test_trigger_tool_change",
                "Changes the tool list (adds or removes test_dynamic_tool)",
                [&cat, toggled](call_context&) {
                  if (toggled->exchange(!toggled->load()))
                    cat.remove_tool("test_dynamic_tool");
                  else
                    cat.add_tool(dynamic_tool());
                  return tool_result::text("Mutation triggered");
                });
  if (auto err = cat.add_tool(std::move(t)))
    return err;
  auto p_toggled = std::make_shared<std::atomic<bool>>(false);
  auto p = tool("test_trigger_prompt_change",
                "Changes the prompt list (adds or removes test_dynamic_prompt)",
                [&cat, p_toggled](call_context&) {
                  if (p_toggled->exchange(!p_toggled->load()))
                    cat.remove_prompt("test_dynamic_prompt");
                  else
                    cat.add_prompt(dynamic_prompt());
                  return tool_result::text("Mutation triggered");
                });
  return cat.add_tool(std::move(p));
}

read_result text_contents(std::string_view uri, std::string_view mime,
                          std::string_view text) {
  read_result r;
  r.contents.push_back(resource_contents::text(uri, mime, text));
  return r;
}

std::optional<std::string> add_resources(catalog& cat) {
  auto fixed = [&](std::string uri, std::string name, std::string title,
                   std::string description, std::string mime,
                   read_handler h) {
    resource_definition r;
    r.uri = std::move(uri);
    r.name = std::move(name);
    r.title = std::move(title);
    r.description = std::move(description);
    r.mime_type = std::move(mime);
    r.exec = execution::inline_call;
    r.cache = {300000, false};
    r.handler = std::move(h);
    return cat.add_resource(std::move(r));
  };
  if (auto err = fixed("test://static-text", "static-text", "Static Text Resource",
                       "A static text resource for testing", "text/plain",
                       [](call_context& ctx) {
                         return text_contents(ctx.uri(), "text/plain",
                                              "This is the content of the static "
                                              "text resource.");
                       }))
    return err;
  if (auto err = fixed("test://static-binary", "static-binary",
                       "Static Binary Resource",
                       "A static binary resource (image) for testing",
                       "image/png", [](call_context& ctx) {
                         read_result r;
                         r.contents.push_back(
                           resource_contents::blob(ctx.uri(), "image/png", png));
                         return r;
                       }))
    return err;
  if (auto err = fixed("test://watched-resource", "watched-resource",
                       "Watched Resource",
                       "A resource that is updated every 3 seconds",
                       "text/plain", [](call_context& ctx) {
                         return text_contents(ctx.uri(), "text/plain",
                                              "Watched resource content");
                       }))
    return err;
  if (auto err = fixed("test://stateless-static-text", "Stateless Static Text",
                       "", "A static text resource served on the draft path",
                       "text/plain", [](call_context& ctx) {
                         return text_contents(
                           ctx.uri(), "text/plain",
                           "Static text content from the stateless draft path.");
                       }))
    return err;
  resource_template_definition t;
  t.uri_template = "test://template/{id}/data";
  t.name = "template";
  t.title = "Resource Template";
  t.description = "A resource template with parameter substitution";
  t.mime_type = "application/json";
  t.exec = execution::inline_call;
  t.cache = {300000, false};
  t.handler = [](call_context& ctx) {
    auto it = ctx.uri_variables().find("id");
    std::string id = it != ctx.uri_variables().end() ? it->second : "";
    std::string text = R"j({"id":)j";
    append_quoted(text, id);
    text += R"j(,"templateTest":true,"data":)j";
    append_quoted(text, "Data for ID: " + id);
    text += '}';
    return text_contents(ctx.uri(), "application/json", text);
  };
  t.complete["id"] = [](std::string_view prefix, const uri_template::variables&) {
    std::vector<std::string> out;
    for (auto v : {"1", "2", "3", "42", "123"})
      if (std::string_view{v}.substr(0, prefix.size()) == prefix)
        out.emplace_back(v);
    return out;
  };
  return cat.add_resource_template(std::move(t));
}

std::optional<std::string> add_prompts(catalog& cat) {
  auto add = [&](prompt_definition p) { return cat.add_prompt(std::move(p)); };
  prompt_definition simple;
  simple.name = "test_simple_prompt";
  simple.title = "Simple Test Prompt";
  simple.description = "A simple prompt without arguments";
  simple.handler = [](call_context&) {
    prompt_result r;
    r.messages.push_back({"user", content_block::text("This is a simple prompt for testing.")});
    return r;
  };
  if (auto err = add(std::move(simple)))
    return err;
  prompt_definition args;
  args.name = "test_prompt_with_arguments";
  args.title = "Prompt With Arguments";
  args.description = "A prompt with required arguments";
  args.arguments = {{"arg1", "", "First test argument", true},
                    {"arg2", "", "Second test argument", true}};
  args.handler = [](call_context& ctx) {
    prompt_result r;
    r.messages.push_back(
      {"user", content_block::text("Prompt with arguments: arg1='"
                                   + std::string{ctx.arg_string("arg1")} + "', arg2='"
                                   + std::string{ctx.arg_string("arg2")} + "'")});
    return r;
  };
  auto words = [](std::string_view prefix, const uri_template::variables&) {
    std::vector<std::string> out;
    for (auto w : {"paris", "park", "party", "test", "testing"})
      if (std::string_view{w}.substr(0, prefix.size()) == prefix)
        out.emplace_back(w);
    return out;
  };
  args.complete["arg1"] = words;
  args.complete["arg2"] = words;
  if (auto err = add(std::move(args)))
    return err;
  prompt_definition embedded;
  embedded.name = "test_prompt_with_embedded_resource";
  embedded.title = "Prompt With Embedded Resource";
  embedded.description = "A prompt that includes an embedded resource";
  embedded.arguments = {{"resourceUri", "", "URI of the resource to embed", true}};
  embedded.handler = [](call_context& ctx) {
    prompt_result r;
    r.messages.push_back({"user", content_block::embedded_text(
                                    ctx.arg_string("resourceUri"), "text/plain",
                                    "Embedded resource content for testing.")});
    r.messages.push_back(
      {"user", content_block::text("Please process the embedded resource above.")});
    return r;
  };
  if (auto err = add(std::move(embedded)))
    return err;
  prompt_definition image;
  image.name = "test_prompt_with_image";
  image.title = "Prompt With Image";
  image.description = "A prompt that includes image content";
  image.handler = [](call_context&) {
    prompt_result r;
    r.messages.push_back({"user", content_block::image(png, "image/png")});
    r.messages.push_back({"user", content_block::text("Please analyze the image above.")});
    return r;
  };
  if (auto err = add(std::move(image)))
    return err;
  prompt_definition mrtr;
  mrtr.name = "test_input_required_result_prompt";
  mrtr.description = "MRTR: prompt that requires elicitation input";
  mrtr.handler = [](call_context& ctx) -> prompt_result {
    auto a = ctx.ask("user_context", input_request::elicit_form(
                                       "What context should the prompt use?",
                                       name_schema("context")));
    if (!a)
      return ctx.input_required();
    prompt_result r;
    r.messages.push_back(
      {"user", content_block::text("Prompt with context: " + answer_field(*a, "context"))});
    return r;
  };
  return add(std::move(mrtr));
}

} // namespace

std::optional<std::string> add_conformance_set(catalog& cat, tool_set& set) {
  if (auto err = add_tools(cat))
    return err;
  if (auto err = add_task_tools(cat))
    return err;
  if (auto err = add_triggers(cat))
    return err;
  if (auto err = add_resources(cat))
    return err;
  if (auto err = add_prompts(cat))
    return err;
  set.periodic.push_back(periodic_task{std::chrono::seconds{3}, [&cat] {
                                         cat.resource_updated("test://watched-resource");
                                       }});
  return std::nullopt;
}

} // namespace mcpvisor::tools
