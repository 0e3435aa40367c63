#include "transports/request_view.hpp"

#include "protocol/ascii.hpp"

namespace mcpvisor::transports {

namespace http = boost::beast::http;

namespace {

std::string_view view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

/// Sets `slot` to the first value of its header (a repeated header is
/// refused by the reader for all but Accept, whose first line counts).
void first(std::string_view& slot, bool& seen, std::string_view value) {
  if (!seen)
    slot = value;
  seen = true;
}

} // namespace

protocol::http_request request_view(const request_reader::request& req) {
  protocol::http_request v;
  v.method = view(req.method_string());
  v.target = view(req.target());
  auto& h = v.mcp;
  // one pass over the fields: Beast names the standard ones, the others
  // are told apart by their length first
  bool host = false, origin = false, accept = false, type = false;
  bool session = false, last_event = false, version = false;
  constexpr std::string_view prefix = "mcp-param-";
  for (auto& f : req) {
    auto value = view(f.value());
    switch (f.name()) {
      case http::field::host:
        first(v.host, host, value);
        continue;
      case http::field::origin:
        first(v.origin, origin, value);
        continue;
      case http::field::accept:
        first(v.accept, accept, value);
        continue;
      case http::field::content_type:
        first(v.content_type, type, value);
        continue;
      default:
        break; // by name, even should Beast come to know one of them
    }
    auto name = view(f.name_string());
    if (protocol::iequals(name, "mcp-session-id"))
      first(v.session_id, session, value);
    else if (protocol::iequals(name, "last-event-id"))
      first(v.last_event_id, last_event, value);
    else if (protocol::iequals(name, "mcp-protocol-version"))
      first(h.protocol_version, version, value);
    else if (protocol::iequals(name, "mcp-method"))
      first(h.method, h.has_method, value);
    else if (protocol::iequals(name, "mcp-name"))
      first(h.name, h.has_name, value);
    else if (name.size() > prefix.size()
             && protocol::iequals(name.substr(0, prefix.size()), prefix))
      h.params.emplace_back(name.substr(prefix.size()), value);
  }
  return v;
}

} // namespace mcpvisor::transports
