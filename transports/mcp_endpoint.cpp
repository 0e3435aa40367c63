// The MCP endpoint: what one request that was read means. It takes the
// request's MCP-relevant parts, asks protocol/ingress for the route, and
// answers it here or submits it to the gateway. Reads like Beast's
// advanced server's handle_request: classify, route, reply.

#include "transports/http_connection.hpp"
#include "transports/request_view.hpp"

namespace mcpvisor::transports {

namespace http = boost::beast::http;

void serve_request(connection& c, request_reader::request& req) {
  auto& gw = c.server().gw;
  auto v = request_view(req);
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
