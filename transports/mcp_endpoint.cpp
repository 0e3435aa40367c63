// The MCP endpoint: what one request that was read means. It takes the
// request's MCP-relevant parts, asks protocol/ingress for the route, and
// answers it here or submits it to the gateway. Reads like Beast's
// advanced server's handle_request: classify, route, reply.

#include "transports/http_connection.hpp"
#include "transports/auth.hpp"
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

/// Bearer authentication, when the endpoint requires it: serves the
/// protected resource metadata, checks the token of a request for the MCP
/// endpoint (or the 2024-11-05 transport's paths), and takes the session id
/// apart from the tag that binds it to the token's subject. False if it
/// answered the request.
bool authenticate(connection& c, const request_reader::request& req,
                  protocol::http_request& v, bearer_auth::verdict& out) {
  auto* auth = c.server().cfg.auth.get();
  if (auth == nullptr)
    return true;
  auto path = v.target.substr(0, v.target.find('?'));
  if (auth->is_metadata_path(path)) {
    if (v.method == "GET")
      c.respond(200, auth->metadata());
    else
      c.respond(405, protocol::encode_error({}, protocol::errc::invalid_request,
                                            "method not allowed: GET the metadata"),
                "GET");
    return false;
  }
  if (path != c.server().endpoint.path && !legacy_sse::handles(path))
    return true; // 404 from the routing rules
  auto authorization = req[http::field::authorization];
  out = auth->check({authorization.data(), authorization.size()});
  if (out.status != 0) {
    c.respond(out.status, std::move(out.body), {}, out.challenge);
    return false;
  }
  if (v.method != "POST") {
    // no message to read scopes from: the rule for every request
    auto scope = auth->authorize(*out.who);
    if (scope.status != 0) {
      c.respond(scope.status, std::move(scope.body), {}, scope.challenge);
      return false;
    }
  }
  if (!v.session_id.empty()) {
    // a session opened by another subject does not exist for this one
    auto bound = auth->bound(v.session_id, *out.who);
    if (!bound) {
      c.respond(404, protocol::unknown_session({}).body);
      return false;
    }
    v.session_id = *bound;
  }
  return true;
}

} // namespace

void serve_request(connection& c, request_reader::request& req) {
  auto& gw = c.server().gw;
  auto v = request_view(req);
  bearer_auth::verdict token;
  if (!authenticate(c, req, v, token))
    return;
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
      c.upgrade(std::move(req), std::move(token.who), token.expires);
    return;
  }
  if (legacy_sse::handles(v.target.substr(0, v.target.find('?')))) {
    c.server().legacy.serve(c, req, v, std::move(token.who));
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
    if (token.who != nullptr) {
      auto scope = c.server().cfg.auth->authorize(*msg, *token.who);
      if (scope.status != 0) {
        c.respond(scope.status, std::move(scope.body), {}, scope.challenge);
        return;
      }
      msg->who = token.who;
    }
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
  ex->who = std::move(token.who);
  auto* in_flight = r.kind == route_kind::stream ? nullptr
                                                 : c.flight_for_request(msg->method);
  auto res = gw.submit(r, std::move(msg), {ex, false, in_flight, nullptr});
  if (res != actors::gateway::result::ok)
    c.refuse(*ex, actors::gateway::refusal(res, id));
}

} // namespace mcpvisor::transports
