#include "protocol/ingress.hpp"

#include "protocol/ascii.hpp"
#include "protocol/revision.hpp"

namespace mcpvisor::protocol {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Host name of a Host header or an origin's authority: without port,
/// brackets kept for IPv6 literals, lower case.
std::string host_name(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return lower(authority.substr(0, close == std::string_view::npos
                                       ? authority.size()
                                       : close + 1));
  }
  return lower(authority.substr(0, authority.find(':')));
}

bool json_content(std::string_view ct) {
  auto semi = ct.find(';');
  return iequals(trim(ct.substr(0, semi)), "application/json");
}

route answer(int status, const request_id& id, std::string_view text) {
  route r;
  r.status = status;
  r.body = encode_error(id, errc::invalid_request, text);
  return r;
}

route answer_405(std::string_view text, std::string_view allow) {
  auto r = answer(405, {}, text);
  r.allow = allow;
  return r;
}

route accepted() {
  route r;
  r.status = 202;
  return r;
}

route overload(const request_id& id) {
  route r;
  r.status = 503;
  r.overloaded = true;
  r.body = encode_error(id, errc::internal_error, "the server is overloaded; retry later");
  return r;
}

route to(route_kind kind, std::string_view session_id = {}) {
  route r;
  r.kind = kind;
  r.session_id = session_id;
  return r;
}

/// A 2026-07-28 GET or DELETE without a session: those methods do not
/// exist there.
bool stateless_version(std::string_view pv) {
  auto r = parse_revision(pv);
  return !pv.empty() && (!r || is_stateless(*r));
}

route route_message(const message& msg, const http_request& req,
                    bool overloaded, bool sessions_elsewhere);

route route_post(const http_endpoint& ep, const http_request& req,
                 std::string body, message& msg, bool overloaded,
                 bool sessions_elsewhere) {
  if (!accepts(req.accept, "application/json")
      || !accepts(req.accept, "text/event-stream"))
    return answer(406, {}, "not acceptable: Accept must list application/json "
                           "and text/event-stream");
  if (!json_content(req.content_type))
    return answer(415, {}, "unsupported media type: Content-Type must be "
                           "application/json");
  if (auto err = decode(std::move(body), msg, ep.limits)) {
    route r;
    r.status = 400;
    r.body = decode_failure(*err).json;
    return r;
  }
  auto r = route_message(msg, req, overloaded, sessions_elsewhere);
  r.decoded = true;
  return r;
}

/// The rules of a decoded POSTed message.
route route_message(const message& msg, const http_request& req, bool overloaded,
                    bool sessions_elsewhere) {
  bool is_request = msg.kind == message_kind::request;
  // the andon cord: new work is refused at once, while notifications and
  // responses (which finish accepted work) pass, and so does a new
  // session that another node of a cluster can take
  bool placed = sessions_elsewhere && req.session_id.empty() && msg.method == "initialize";
  if (is_request && overloaded && !placed)
    return overload(msg.id);
  auto pv = req.mcp.protocol_version;
  if (req.session_id.empty()) {
    bool meta_version = find_member(msg.meta(), "io.modelcontextprotocol/protocolVersion")
                        != nullptr;
    if (is_stateless_request(pv, meta_version)) {
      if (msg.kind == message_kind::notification)
        return accepted();
      if (!is_request)
        return answer(400, msg.id, "a client sends requests, not responses");
      auto r = to(route_kind::stateless);
      r.request = true;
      r.has_headers = true;
      r.headers = req.mcp;
      return r;
    }
    if (!is_request || msg.method != "initialize")
      return answer(400, msg.id, "Bad Request: Mcp-Session-Id header is required "
                                 "(send initialize first)");
    auto r = to(route_kind::initialize);
    r.request = true;
    return r;
  }
  // a session request: the revision header, if any, must be a session one
  if (!pv.empty()) {
    auto rev = parse_revision(pv);
    if (!rev || is_stateless(*rev))
      return answer(400, msg.id, "Bad Request: unsupported MCP-Protocol-Version "
                                 "for a session");
  }
  auto r = to(route_kind::session, req.session_id);
  r.request = is_request;
  return r;
}

route stdio_rules(const message& msg, bool in_session, bool overloaded) {
  bool is_request = msg.kind == message_kind::request;
  if (is_request && overloaded)
    return overload(msg.id);
  if (find_member(msg.meta(), "io.modelcontextprotocol/protocolVersion") != nullptr) {
    auto r = to(route_kind::stateless);
    r.request = is_request;
    return r;
  }
  if (in_session) {
    auto r = to(route_kind::session);
    r.request = is_request;
    return r;
  }
  if (!is_request) {
    route r;
    r.status = 0; // before initialize: nothing to answer
    return r;
  }
  if (msg.method == "initialize") {
    auto r = to(route_kind::initialize);
    r.request = true;
    return r;
  }
  route r;
  r.body = msg.method == "ping"
             ? encode_result(msg.id, "{}")
             : encode_error(msg.id, errc::invalid_request,
                            "not initialized: send initialize first");
  return r;
}

} // namespace

// -- origin_policy ------------------------------------------------------------

origin_policy::origin_policy(const std::vector<std::string>& hosts,
                             std::vector<std::string> origins)
  : hosts_{"localhost", "127.0.0.1", "[::1]"}, origins_(std::move(origins)) {
  for (auto& h : hosts)
    hosts_.insert(lower(h));
}

bool origin_policy::host_ok(std::string_view host) const {
  return hosts_.count(host_name(trim(host))) > 0;
}

bool origin_policy::origin_ok(std::string_view origin) const {
  origin = trim(origin);
  for (auto& o : origins_)
    if (o == origin)
      return true;
  auto scheme = origin.find("://");
  if (scheme == std::string_view::npos)
    return false;
  auto s = origin.substr(0, scheme);
  if (!iequals(s, "http") && !iequals(s, "https"))
    return false;
  auto authority = origin.substr(scheme + 3);
  if (auto slash = authority.find('/'); slash != std::string_view::npos)
    authority = authority.substr(0, slash);
  return hosts_.count(host_name(authority)) > 0;
}

// -- routes -------------------------------------------------------------------

bool accepts(std::string_view accept, std::string_view type) {
  // type/subtype, its family type/* and */*, in any case
  auto slash = type.find('/');
  auto family = slash == std::string_view::npos ? std::string_view{}
                                                : type.substr(0, slash + 1);
  size_t start = 0;
  while (start <= accept.size()) {
    auto comma = accept.find(',', start);
    if (comma == std::string_view::npos)
      comma = accept.size();
    auto range = accept.substr(start, comma - start);
    if (auto semi = range.find(';'); semi != std::string_view::npos)
      range = range.substr(0, semi);
    auto r = trim(range);
    if (iequals(r, type) || r == "*/*"
        || (!family.empty() && r.size() == family.size() + 1 && r.back() == '*'
            && iequals(r.substr(0, family.size()), family)))
      return true;
    start = comma + 1;
  }
  return false;
}

route route_http(const http_endpoint& ep, const http_request& req,
                 std::string body, message& msg, bool overloaded,
                 bool sessions_elsewhere) {
  auto path = req.target.substr(0, req.target.find('?'));
  if (path != ep.path)
    return answer(404, {}, "not found: the MCP endpoint is " + ep.path);
  if (!ep.origins.allows(req.host, req.origin))
    return answer(403, {}, "forbidden: Host or Origin is not allowed");
  if (req.method == "POST")
    return route_post(ep, req, std::move(body), msg, overloaded, sessions_elsewhere);
  bool get = req.method == "GET";
  if (!get && req.method != "DELETE")
    return answer_405("method not allowed: use POST, GET or DELETE",
                      "GET, POST, DELETE");
  if (req.session_id.empty()) {
    if (stateless_version(req.mcp.protocol_version))
      return get ? answer_405("method not allowed: 2026-07-28 has no GET "
                              "stream; use subscriptions/listen",
                              "POST")
                 : answer_405("method not allowed: 2026-07-28 has no "
                              "sessions to delete",
                              "POST");
    return answer(400, {}, "Bad Request: Mcp-Session-Id header is required");
  }
  if (!get)
    return to(route_kind::end_session, req.session_id);
  if (!accepts(req.accept, "text/event-stream"))
    return answer(406, {}, "not acceptable: Accept must list text/event-stream");
  auto r = to(route_kind::stream, req.session_id);
  r.last_event_id = req.last_event_id;
  return r;
}

route route_stdio(std::string line, message& msg, bool in_session,
                  bool overloaded, const decode_limits& limits) {
  if (auto err = decode(std::move(line), msg, limits)) {
    route r;
    r.body = decode_failure(*err).json;
    return r;
  }
  auto r = stdio_rules(msg, in_session, overloaded);
  r.decoded = true;
  return r;
}

route unknown_session(const request_id& id) {
  return answer(404, id, "session not found");
}

route unavailable(const request_id& id, std::string_view why) {
  route r;
  r.status = 503;
  r.body = encode_error(id, errc::internal_error, why);
  return r;
}

} // namespace mcpvisor::protocol
