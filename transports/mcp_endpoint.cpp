// The MCP endpoint: what one request that was read means. It takes the
// request's MCP-relevant parts, asks protocol/ingress for the route, and
// answers it here or submits it to the gateway. Reads like Beast's
// advanced server's handle_request: classify, route, reply.

#include "transports/http_connection.hpp"
#include "transports/request_view.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

namespace mcpvisor::transports {

namespace http = boost::beast::http;

namespace {

/// `Sec-WebSocket-Protocol` lists `mcp`.
bool offers_mcp(std::string_view list) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item == "mcp")
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace

void serve_request(connection& c, request_reader::request& req) {
  auto& gw = c.server().gw;
  auto v = request_view(req);
  if (boost::beast::websocket::is_upgrade(req)) {
    // a WebSocket session: the endpoint's path, Host and Origin rules, the
    // andon cord, and the subprotocol the SDK's transport asks for
    auto path = v.target.substr(0, v.target.find('?'));
    auto protocols = req[http::field::sec_websocket_protocol];
    if (path != c.server().endpoint.path)
      c.respond(404, protocol::encode_error({}, protocol::errc::invalid_request,
                                            "not found: the MCP endpoint is "
                                              + c.server().endpoint.path));
    else if (!c.server().endpoint.origins.allows(v.host, v.origin))
      c.respond(403, protocol::encode_error({}, protocol::errc::invalid_request,
                                            "forbidden: Host or Origin is not allowed"));
    else if (gw.overloaded())
      c.respond(503, protocol::encode_error({}, protocol::errc::internal_error,
                                            "the server is overloaded; retry later"));
    else if (!offers_mcp({protocols.data(), protocols.size()}))
      c.respond(400, protocol::encode_error({}, protocol::errc::invalid_request,
                                            "a WebSocket for MCP needs the subprotocol mcp "
                                            "(Sec-WebSocket-Protocol: mcp)"));
    else
      c.upgrade(std::move(req));
    return;
  }
  if (legacy_sse::handles(v.target.substr(0, v.target.find('?')))) {
    c.server().legacy.serve(c, req, v);
    return;
  }
  bool post = req.method() == http::verb::post;
  if (post)
    c.count_request(nullptr, v.session_id);
  auto msg = std::make_unique<protocol::message>();
  bool overloaded = gw.overloaded();
  auto r = protocol::route_http(c.server().endpoint, v,
                                post ? std::move(req.body()) : std::string{}, *msg,
                                overloaded, overloaded && gw.sessions_elsewhere());
  if (r.decoded) {
    if (msg->kind == protocol::message_kind::request)
      c.count_request(msg.get(), v.session_id);
    else
      c.uncount(); // notifications and responses are not requests
  }
  using protocol::route_kind;
  if (r.kind == route_kind::answer) {
    c.respond(r.status, std::move(r.body), r.allow);
    return;
  }
  if (!r.request && r.kind != route_kind::stream && gw.local(r)) {
    // a notification or response for a session, or a DELETE: delivered,
    // and answered at once (for a session on another node of a cluster,
    // its owner answers)
    auto res = gw.submit(r, std::move(msg), {});
    if (res != actors::gateway::result::ok) {
      auto refusal = actors::gateway::refusal(res, {});
      c.respond(refusal.status, std::move(refusal.body));
      return;
    }
    c.respond(r.kind == route_kind::end_session ? 204 : 202, {});
    return;
  }
  auto id = msg->id;
  auto ex = c.begin_exchange(id);
  auto* in_flight = r.kind == route_kind::stream ? nullptr
                                                 : c.flight_for_request(msg->method);
  auto res = gw.submit(r, std::move(msg), {ex, false, in_flight, nullptr});
  if (res != actors::gateway::result::ok)
    c.refuse(*ex, actors::gateway::refusal(res, id));
}

} // namespace mcpvisor::transports
