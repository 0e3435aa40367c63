#include "tests/fuzz/engine_driver.hpp"

#include "protocol/json.hpp"

namespace mcpvisor::fuzz {

using namespace protocol;

engine_driver::engine_driver() : cat(server_info{}), srv(cat, engine_config{}) {
  if (tools::add_conformance_set(cat, set))
    __builtin_trap();
}

void engine_driver::initialize(session& s, std::string_view version) {
  to_session(s, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")"
                  + std::string{version}
                  + R"(","capabilities":{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{}},"clientInfo":{"name":"fuzz","version":"1"}}})");
  to_session(s, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
}

void engine_driver::to_session(session& sess, std::string json) {
  message msg;
  if (decode(std::move(json), msg, srv.config().limits))
    return;
  engine_output out;
  sess.receive(msg, out);
  drain(out, &sess);
}

void engine_driver::stateless(std::string json, const mcp_headers* headers) {
  message msg;
  if (decode(std::move(json), msg, srv.config().limits))
    return;
  engine_output out;
  if (headers != nullptr)
    (void) check_headers(srv, msg, *headers);
  serve_stateless(srv, msg, headers, out);
  drain(out, nullptr);
}

void engine_driver::drain(engine_output& out, session* sess) {
  for (int rounds = 0; rounds < 64; ++rounds) {
    for (auto& m : out.messages)
      if (!m.json.empty() && !parse_json(m.json))
        __builtin_trap(); // the engine wrote something that is not JSON
    out.messages.clear();
    if (out.calls.empty())
      return;
    auto calls = std::move(out.calls);
    out.calls.clear();
    for (auto& c : calls) {
      c->context().set_io(&io);
      try {
        c->run();
      } catch (...) {
        // a handler that throws crashes its actor in the binary: fine here
        continue;
      }
      if (sess != nullptr)
        sess->finish(*c, out);
      else
        finish_stateless(srv, *c, out);
    }
  }
}

} // namespace mcpvisor::fuzz
