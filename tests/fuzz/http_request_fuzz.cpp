// The bytes of whole HTTP requests through the MCP listener's framing
// (transports/http_reader: limits, RFC 9112 rules) and then the endpoint's
// MCP rules (protocol/ingress: Host and Origin, method, Accept,
// Content-Type, the MCP headers, the JSON-RPC body, overload). Nothing may throw, crash or keep more than
// it counted; a refusal always carries a status and a text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/session_id.hpp"
#include "protocol/ingress.hpp"
#include "transports/http_reader.hpp"
#include "transports/request_view.hpp"

using namespace mcpvisor;

namespace {

/// What the endpoint does with a request that was read: its route from
/// protocol/ingress, and the session id a route names parsed as the
/// gateway would.
void apply_mcp_rules(transports::request_reader::request& req) {
  static const protocol::http_endpoint ep = [] {
    protocol::http_endpoint e;
    e.origins = protocol::origin_policy{{"mcp.example.com"}, {}};
    e.limits = protocol::decode_limits{16 * 1024, 32, 4096, 256, 1024};
    return e;
  }();
  auto view = transports::request_view(req);
  protocol::message msg;
  auto r = protocol::route_http(ep, view, std::move(req.body()), msg, view.target.size() % 2 == 1);
  if (r.kind == protocol::route_kind::answer && (r.status < 200 || r.status > 599))
    __builtin_trap();
  if (r.kind != protocol::route_kind::answer && !r.session_id.empty())
    (void) actors::session_id::parse(r.session_id);
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
