// The drill set: the default set plus tools that misbehave on purpose, for
// chaos drills, crash-recovery tests and load tests. Never load it on a
// server that untrusted clients reach: `crash` restarts the caller's
// session on demand.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "tools/tool_sets.hpp"

namespace mcpvisor::tools {

namespace {

using namespace protocol;

constexpr auto ms_schema
  = R"({"type":"object","properties":{"ms":{"type":"integer","minimum":0,"maximum":60000}},"additionalProperties":false})";

/// Waits `ms` (default 0) unless the call is cancelled; false if it was.
bool wait_ms(call_context& ctx) {
  auto* ms = find_member(&ctx.arguments(), "ms");
  auto d = std::chrono::milliseconds{ms != nullptr ? ms->GetInt64() : 0};
  return d.count() == 0 || ctx.sleep_for(d);
}

tool_definition crash() {
  tool_definition t;
  t.name = "crash";
  t.title = "Crash";
  t.description = "Throws an exception in the session actor: the session "
                  "restarts, this call gets the restarted-session error, and "
                  "the session's other calls in flight are run again or get "
                  "that error too.";
  t.annotations = {"Crash", false, false, false, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context&) -> tool_result {
    throw std::runtime_error("the crash tool was called");
  };
  return t;
}

tool_definition sleep() {
  tool_definition t;
  t.name = "sleep";
  t.title = "Sleep";
  t.description = "Waits `ms` milliseconds on a worker thread and says so. "
                  "Read-only: after a session restart it is run again, and "
                  "so is its task after its runner crashed.";
  t.input_schema = ms_schema;
  t.annotations = {"Sleep", true, false, true, false};
  t.tasks = task_support::optional;
  t.handler = [](call_context& ctx) {
    if (!wait_ms(ctx))
      return tool_result::error("cancelled");
    return tool_result::text("slept");
  };
  return t;
}

tool_definition bump() {
  tool_definition t;
  t.name = "bump";
  t.title = "Bump a counter";
  t.description = "Waits `ms` milliseconds, then adds one to a counter the "
                  "whole server shares and returns its new value. Neither "
                  "read-only nor idempotent: after a session restart it is "
                  "not run again, its caller gets the restarted-session "
                  "error (a task of it ends failed).";
  t.input_schema = ms_schema;
  t.annotations = {"Bump", false, false, false, false};
  t.tasks = task_support::optional;
  t.handler = [](call_context& ctx) {
    static std::atomic<uint64_t> counter{0};
    if (!wait_ms(ctx))
      return tool_result::error("cancelled");
    return tool_result::text(std::to_string(++counter));
  };
  return t;
}

tool_definition hang() {
  tool_definition t;
  t.name = "hang";
  t.title = "Hang";
  t.description = "Blocks its worker thread for `ms` milliseconds and ignores "
                  "cancellation, as a handler stuck in a system call does. "
                  "Its caller is answered at the tool's one-second deadline; "
                  "the worker pool replaces the stuck thread.";
  t.input_schema = ms_schema;
  t.annotations = {"Hang", true, false, true, false};
  t.timeout = std::chrono::seconds{1};
  t.handler = [](call_context& ctx) {
    auto* ms = find_member(&ctx.arguments(), "ms");
    std::this_thread::sleep_for(
      std::chrono::milliseconds{ms != nullptr ? ms->GetInt64() : 0});
    return tool_result::text("woke up");
  };
  return t;
}

tool_definition stall() {
  tool_definition t;
  t.name = "stall";
  t.title = "Stall";
  t.description = "Blocks its session's actor thread for `ms` milliseconds, as an "
                  "inline handler that should have run on a worker does. With one "
                  "scheduler thread the whole tree stalls meanwhile (the systemd "
                  "watchdog test).";
  t.input_schema = ms_schema;
  t.annotations = {"Stall", true, false, true, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) {
    auto* ms = find_member(&ctx.arguments(), "ms");
    std::this_thread::sleep_for(
      std::chrono::milliseconds{ms != nullptr ? ms->GetInt64() : 0});
    return tool_result::text("went on");
  };
  return t;
}

tool_definition session_state() {
  tool_definition t;
  t.name = "session_state";
  t.title = "Session state";
  t.description = "Returns what the session keeps across crashes and nodes: the "
                  "log level it set with logging/setLevel. Read-only.";
  t.annotations = {"Session state", true, false, true, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) {
    for (auto lvl : {log_level::debug, log_level::info, log_level::notice,
                     log_level::warning, log_level::error, log_level::critical,
                     log_level::alert, log_level::emergency})
      if (ctx.logs(lvl))
        return tool_result::text(std::string{to_string(lvl)});
    return tool_result::text("off");
  };
  return t;
}

tool_definition whoami() {
  tool_definition t;
  t.name = "whoami";
  t.title = "Who am I";
  t.description = "Returns the subject and scopes of the access token the call came "
                  "with (\"anonymous\" without one). Read-only.";
  t.annotations = {"Who am I", true, false, true, false};
  t.exec = execution::inline_call;
  t.handler = [](call_context& ctx) {
    if (ctx.subject().empty())
      return tool_result::text("anonymous");
    std::string out = ctx.subject();
    for (auto& s : ctx.scopes())
      out += " " + s;
    return tool_result::text(out);
  };
  return t;
}

} // namespace

std::optional<std::string> add_drill_set(catalog& cat, tool_set& set,
                                         const tool_set_options& opts) {
  if (auto err = add_default_set(cat, set, opts))
    return err;
  for (auto t : {crash(), sleep(), bump(), hang(), stall(), session_state(), whoami()})
    if (auto err = cat.add_tool(std::move(t)))
      return err;
  return std::nullopt;
}

} // namespace mcpvisor::tools
