// Session ids (Mcp-Session-Id) and SSE event ids (Last-Event-ID): whatever
// parses prints back to exactly the text it came from.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/session_id.hpp"
#include "actors/session_streams.hpp"

using namespace mcpvisor::actors;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto id = session_id::parse(in)) {
    if (id->to_string() != in)
      __builtin_trap(); // two texts for one id
    auto a = id->address(4, 16);
    if (a.meta >= 4 || a.shard >= 16)
      __builtin_trap();
  }
  if (auto ev = parse_event_id(in)) {
    auto text = std::to_string(ev->first) + "_" + std::to_string(ev->second);
    auto again = parse_event_id(text);
    if (!again || *again != *ev)
      __builtin_trap();
  }
  return 0;
}
