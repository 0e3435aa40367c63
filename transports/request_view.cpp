#include "transports/request_view.hpp"

#include <boost/beast/core/string.hpp>

namespace mcpvisor::transports {

namespace http = boost::beast::http;

namespace {

std::string_view value(const request_reader::request& req, http::field name) {
  auto v = req[name];
  return {v.data(), v.size()};
}

/// The value of `name` and whether the header is there at all.
std::string_view value(const request_reader::request& req, std::string_view name,
                       bool* present = nullptr) {
  auto it = req.find(boost::beast::string_view{name.data(), name.size()});
  if (present != nullptr)
    *present = it != req.end();
  if (it == req.end())
    return {};
  return {it->value().data(), it->value().size()};
}

} // namespace

protocol::http_request request_view(const request_reader::request& req) {
  protocol::http_request v;
  auto method = req.method_string();
  v.method = {method.data(), method.size()};
  v.target = {req.target().data(), req.target().size()};
  v.host = value(req, http::field::host);
  v.origin = value(req, http::field::origin);
  v.accept = value(req, http::field::accept);
  v.content_type = value(req, http::field::content_type);
  v.session_id = value(req, "mcp-session-id");
  v.last_event_id = value(req, "last-event-id");
  auto& h = v.mcp;
  h.protocol_version = value(req, "mcp-protocol-version");
  h.method = value(req, "mcp-method", &h.has_method);
  h.name = value(req, "mcp-name", &h.has_name);
  constexpr std::string_view prefix = "mcp-param-";
  for (auto& f : req) {
    auto name = f.name_string();
    if (name.size() > prefix.size()
        && boost::beast::iequals(name.substr(0, prefix.size()),
                                 boost::beast::string_view{prefix.data(), prefix.size()}))
      h.params.emplace_back(std::string_view{name.data() + prefix.size(),
                                             name.size() - prefix.size()},
                            std::string_view{f.value().data(), f.value().size()});
  }
  return v;
}

} // namespace mcpvisor::transports
