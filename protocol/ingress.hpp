#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "protocol/engine.hpp"
#include "protocol/jsonrpc.hpp"

/// Ingress: which way an incoming message goes, decided from the message and
/// the MCP-relevant parts of its request alone. Every MCP-over-HTTP status
/// rule (400, 403, 404 path, 405, 406, 415, 503 while overloaded, 202) and
/// the stdio rules live here as pure functions, strings in and routes out;
/// the transports frame bytes and call these, then the gateway.
namespace mcpvisor::protocol {

/// Host names and origins a listener accepts: localhost, 127.0.0.1 and
/// [::1] always, plus configured ones. A request whose Host is not listed,
/// or whose Origin (if any) names another host, is refused with 403 (DNS
/// rebinding protection).
class origin_policy {
public:
  origin_policy(const std::vector<std::string>& hosts,
                std::vector<std::string> origins);

  bool host_ok(std::string_view host) const;

  bool origin_ok(std::string_view origin) const;

  /// Both, for a request's Host and (possibly empty) Origin.
  bool allows(std::string_view host, std::string_view origin) const {
    return host_ok(host) && (origin.empty() || origin_ok(origin));
  }

private:
  std::unordered_set<std::string> hosts_;
  std::vector<std::string> origins_;
};

/// Where a message goes.
enum class route_kind : uint8_t {
  /// Answered here, without the runtime: `status` and `body` (a refusal,
  /// a 202, or ping on stdio).
  answer,
  /// Starts a session with this `initialize`.
  initialize,
  /// To the session `session_id`: a request the session answers, or a
  /// notification or response that is accepted (202) once delivered.
  session,
  /// A stateless 2026-07-28 request, for any stateless actor.
  stateless,
  /// The GET stream of session `session_id`, after `last_event_id`.
  stream,
  /// DELETE: ends session `session_id` (204 once done).
  end_session,
};

struct route {
  route_kind kind = route_kind::answer;
  /// answer: the status (0 on stdio means "nothing to write") and the JSON
  /// body, empty for 202.
  int status = 200;
  std::string body;
  /// answer 405: the Allow header's value.
  std::string_view allow;
  /// answer: the request was refused because the server is overloaded
  /// (503 with Retry-After), not because it was wrong.
  bool overloaded = false;
  /// session, stream, end_session: the session id as sent.
  std::string_view session_id;
  /// stream: Last-Event-ID, if any.
  std::string_view last_event_id;
  /// The body was decoded into the message (a POST past the content
  /// checks, or a stdio line).
  bool decoded = false;
  /// session and stateless: the message is a request (it gets an answer
  /// from the runtime); otherwise it is a notification or a response.
  bool request = false;
  /// stateless over HTTP: the MCP headers to check against the body.
  bool has_headers = false;
  mcp_headers headers;
};

/// The MCP-relevant parts of an HTTP request, as string views into it.
/// Singleton headers appear once (the transport refuses duplicates).
struct http_request {
  /// Upper case, as sent: "POST", "GET", "DELETE", ...
  std::string_view method;
  /// Path and query.
  std::string_view target;
  std::string_view host;
  std::string_view origin;
  std::string_view accept;
  std::string_view content_type;
  std::string_view session_id;
  std::string_view last_event_id;
  /// MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-*.
  mcp_headers mcp;
};

/// What an HTTP endpoint is configured with.
struct http_endpoint {
  std::string path = "/mcp";
  origin_policy origins{{}, {}};
  decode_limits limits;
};

/// Routes one HTTP request. A POST body is decoded into `msg` (a decode
/// failure is a 400 answer). `overloaded`: the andon cord is pulled, so new
/// requests are refused with 503 while notifications and responses, which
/// finish accepted work, pass; with `sessions_elsewhere` (another node of
/// a cluster creates new sessions meanwhile) an initialize passes too.
route route_http(const http_endpoint& ep, const http_request& req,
                 std::string body, message& msg, bool overloaded,
                 bool sessions_elsewhere = false);

/// Routes one line from stdin. `in_session`: an initialize already
/// started this connection's session. Answers have status 200 (write the
/// body) or 0 (write nothing: a notification before initialize).
route route_stdio(std::string line, message& msg, bool in_session,
                  bool overloaded, const decode_limits& limits = {});

/// The answers for what the runtime reports after a route was submitted.
route unknown_session(const request_id& id);
route unavailable(const request_id& id, std::string_view why);

/// Does an Accept header list `type` (or a wildcard covering it)?
bool accepts(std::string_view accept, std::string_view type);

} // namespace mcpvisor::protocol
