// The bytes of whole HTTP requests through the MCP listener's framing
// (transports/http_reader: limits, RFC 9112 rules) and then the rules the
// endpoint applies to a request that was read: Host and Origin, the MCP
// headers, the JSON-RPC body. Nothing may throw, crash or keep more than
// it counted; a refusal always carries a status and a text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/session_id.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/revision.hpp"
#include "transports/http_reader.hpp"
#include "transports/http_rules.hpp"

using namespace mcpvisor;

namespace {

std::string_view field(const transports::request_reader::request& req,
                       std::string_view name) {
  auto it = req.find(boost::beast::string_view{name.data(), name.size()});
  if (it == req.end())
    return {};
  return transports::trim({it->value().data(), it->value().size()});
}

void apply_mcp_rules(transports::request_reader::request& req) {
  static const transports::origin_policy origins{{"mcp.example.com"}, {}};
  (void) origins.host_ok(field(req, "host"));
  (void) origins.origin_ok(field(req, "origin"));
  (void) actors::session_id::parse(field(req, "mcp-session-id"));
  auto pv = field(req, "mcp-protocol-version");
  (void) protocol::parse_revision(pv);
  protocol::message msg;
  if (protocol::decode(std::move(req.body()), msg, protocol::decode_limits{})) 
    return;
  bool meta_version = protocol::find_member(msg.meta(), "io.modelcontextprotocol/protocolVersion")
                      != nullptr;
  (void) protocol::is_stateless_request(pv, meta_version);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const transports::read_limits limits{2048, 16 * 1024};
  // the bytes arrive in pieces whose sizes the first byte picks, as reads
  // from a socket would deliver them; pipelined requests follow each other
  size_t step = size > 0 ? 1 + data[0] % 64 : 1;
  std::string buffered;
  size_t pos = size > 0 ? 1 : 0;
  for (int requests = 0; requests < 8; ++requests) {
    transports::request_reader reader{limits};
    for (;;) {
      auto used = reader.feed(buffered);
      buffered.erase(0, used);
      if (reader.done() || reader.refusal())
        break;
      if (buffered.size() >= limits.header_bytes + 64)
        __builtin_trap(); // held more than the limit without refusing
      if (pos >= in.size())
        return 0;
      auto n = std::min(step, in.size() - pos);
      buffered.append(in.substr(pos, n));
      pos += n;
    }
    if (auto& r = reader.refusal()) {
      if (r->status < 400 || r->status > 599 || r->text.empty())
        __builtin_trap();
      return 0; // the connection closes
    }
    auto req = reader.release();
    if (req.body().size() > limits.body_bytes)
      __builtin_trap();
    apply_mcp_rules(req);
  }
  return 0;
}
