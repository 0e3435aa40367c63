// The MCP engine with the conformance tool set: one message from the input
// goes to an initialized 2025-11-25 session, a 2025-03-26 session and the
// stateless 2026-07-28 path. Whatever it is, the engine answers with JSON
// and never crashes; handlers run with the arguments it accepted.

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/engine_driver.hpp"

using namespace mcpvisor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::engine_driver d;
  std::string json(reinterpret_cast<const char*>(data), size);
  protocol::session modern{d.srv};
  d.initialize(modern, "2025-11-25");
  d.to_session(modern, json);
  protocol::session old{d.srv};
  d.initialize(old, "2025-03-26");
  d.to_session(old, json);
  d.stateless(json);
  (void) modern.checkpoint();
  return 0;
}
