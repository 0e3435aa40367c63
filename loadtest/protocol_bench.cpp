// mcpvisor-protocol-bench: the engine alone, no I/O. Times decode → dispatch
// → handler → encode of a small tools/call, in a 2025-11-25 session and as a
// stateless 2026-07-28 request, and reports the median and p99 per call.
//
//   build/loadtest/mcpvisor-protocol-bench [--calls N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/engine.hpp"

using namespace mcpvisor::protocol;
using clock_type = std::chrono::steady_clock;

namespace {

void add_echo(catalog& cat) {
  tool_definition echo;
  echo.name = "echo";
  echo.description = "Echoes the text back";
  echo.input_schema
    = R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})";
  echo.exec = execution::inline_call;
  echo.handler = [](call_context& ctx) {
    return tool_result::text(ctx.arg_string("text"));
  };
  if (auto err = cat.add_tool(echo)) {
    std::fprintf(stderr, "%s\n", err->c_str());
    std::exit(1);
  }
}

struct stats {
  double median;
  double p99;
};

template <class F>
stats time_calls(long n, F&& one) {
  std::vector<double> ns;
  ns.reserve(static_cast<size_t>(n));
  for (long i = 0; i < n / 10; ++i) // warm-up
    one(i);
  for (long i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    one(i);
    ns.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - t0)
                   .count());
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], ns[ns.size() * 99 / 100]};
}

} // namespace

int main(int argc, char** argv) {
  long n = 200000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--calls") == 0)
      n = std::atol(argv[i + 1]);
  catalog cat;
  add_echo(cat);
  server_context srv{cat};
  session sess{srv};
  size_t bytes = 0;
  auto run = [&](std::string text, bool stateless) {
    message msg;
    engine_output out;
    if (decode(std::move(text), msg, srv.config().limits))
      std::abort();
    if (stateless)
      serve_stateless(srv, msg, nullptr, out);
    else
      sess.receive(msg, out);
    for (auto& c : out.calls) {
      c->run();
      if (stateless)
        finish_stateless(srv, *c, out);
      else
        sess.finish(*c, out);
    }
    for (auto& m : out.messages)
      bytes += m.json.size();
  };
  run(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})",
      false);
  const std::string session_call
    = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}})";
  const std::string stateless_call
    = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";
  auto s = time_calls(n, [&](long) { run(session_call, false); });
  auto t = time_calls(n, [&](long) { run(stateless_call, true); });
  std::printf("calls per case                 %ld\n", n);
  std::printf("tools/call, 2025-11-25 session median %.0f ns, p99 %.0f ns\n",
              s.median, s.p99);
  std::printf("tools/call, 2026-07-28 stateless median %.0f ns, p99 %.0f ns\n",
              t.median, t.p99);
  std::printf("(%zu bytes encoded)\n", bytes);
  return 0;
}
