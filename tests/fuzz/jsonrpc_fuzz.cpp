// The JSON-RPC decoder: any bytes either decode into one message whose
// parts can be read back, or give an error answer; nothing else happens.

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/engine.hpp"
#include "protocol/jsonrpc.hpp"

using namespace mcpvisor::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  message msg;
  if (auto err = decode(std::move(text), msg, decode_limits{64 * 1024, 32, 4096, 256, 1024})) {
    auto answer = decode_failure(*err);
    if (answer.json.empty())
      __builtin_trap();
    return 0;
  }
  // what the runtime reads of every message
  (void) msg.id.to_json();
  (void) msg.meta();
  (void) msg.param("name");
  (void) find_member(msg.meta(), "progressToken");
  if (msg.kind == message_kind::request)
    (void) encode_result(msg.id, "{}");
  return 0;
}
