// The admin endpoint's request path without a socket: framing with its
// limits, then the routing rules. Every request is either refused with a
// status or routed to one operation.

#include <cstddef>
#include <cstdint>
#include <string>

#include "transports/admin_routes.hpp"
#include "transports/http_reader.hpp"

using namespace mcpvisor::transports;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  request_reader reader{read_limits{16 * 1024, 64 * 1024}};
  auto used = reader.feed(in);
  if (used > in.size())
    __builtin_trap();
  if (!reader.done())
    return 0;
  auto req = reader.release();
  auto method = req.method_string();
  auto r = route_admin({method.data(), method.size()},
                       {req.target().data(), req.target().size()});
  if (r.op == admin_op::refuse && (r.status < 400 || r.error.empty()))
    __builtin_trap();
  if (r.op == admin_op::tree && (r.depth < 0 || r.depth > 16))
    __builtin_trap();
  if (!r.needs_token && r.op != admin_op::page && r.op != admin_op::redirect_page
      && r.op != admin_op::refuse)
    __builtin_trap(); // only the page is served without the token
  return 0;
}
