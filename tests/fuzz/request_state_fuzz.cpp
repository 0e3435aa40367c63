// requestState of multi-round-trip requests (2026-07-28). A token from the
// input is opened as a client would send it; and, to reach what lies
// behind the MAC, the input's first line is sealed with the server's own
// secret as a state payload (method, digest, expiry, answers, handler
// state) and sent back with the rest as inputResponses. A forged token is
// refused; a well-sealed but odd payload is checked field by field.

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/json.hpp"
#include "tests/fuzz/engine_driver.hpp"

using namespace mcpvisor;

namespace {

std::string quoted(std::string_view s) {
  std::string out;
  protocol::append_quoted(out, s);
  return out;
}

std::string call_with_state(std::string_view token, std::string_view responses) {
  std::string msg = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_input_required_result_elicitation","arguments":{},"requestState":)";
  msg += quoted(token);
  if (!responses.empty()) {
    msg += R"(,"inputResponses":)";
    msg += responses;
  }
  msg += R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}})";
  return msg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::engine_driver d;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // as sent: a forged or damaged token must never open
  if (d.srv.seal().open("state", in))
    __builtin_trap();
  d.stateless(call_with_state(in, {}));
  // sealed by the server: the payload's own checks
  auto nl = in.find('\n');
  auto payload = in.substr(0, nl);
  auto responses = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  auto token = d.srv.seal().seal("state", payload);
  auto opened = d.srv.seal().open("state", token);
  if (!opened || *opened != payload)
    __builtin_trap(); // sealing does not round-trip
  if (d.srv.seal().open("cursor:tools", token))
    __builtin_trap(); // a token opens for another purpose
  if (!responses.empty() && !protocol::parse_json(responses))
    responses = {};
  d.stateless(call_with_state(token, responses));
  return 0;
}
