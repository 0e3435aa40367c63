#include "transports/admin_routes.hpp"

#include <charconv>

#include "protocol/uri_template.hpp"

namespace mcpvisor::transports {

namespace {

/// Parses a decimal number that must fill `text`.
template <class T>
bool number(std::string_view text, T& out) {
  auto end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && p == end && !text.empty();
}

/// The value of `key` in a query string, or empty.
std::string_view query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{}
                                          : pair.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

admin_route refused(int status, std::string error, std::string_view allow = {}) {
  admin_route r;
  r.status = status;
  r.error = std::move(error);
  r.allow = allow;
  return r;
}

admin_route op(admin_op o) {
  admin_route r;
  r.op = o;
  return r;
}

admin_route only(bool allowed, admin_op o, std::string_view allow) {
  return allowed ? op(o) : refused(405, "method not allowed", allow);
}

} // namespace

admin_route route_admin(std::string_view method, std::string_view target) {
  auto q = target.find('?');
  auto path = target.substr(0, q);
  auto query = q == std::string_view::npos ? std::string_view{}
                                           : target.substr(q + 1);
  bool get = method == "GET";
  bool post = method == "POST";
  // the page holds no data: it is served without the token, and its script
  // sends the token (from the URL fragment) with every call
  if (path == "/admin" || path == "/admin/") {
    auto r = path == "/admin" ? op(admin_op::redirect_page)
                              : only(get, admin_op::page, "GET");
    r.needs_token = false;
    return r;
  }
  if (path == "/healthz")
    return only(get, admin_op::health, "GET");
  if (path == "/readyz")
    return only(get, admin_op::ready, "GET");
  if (path == "/metrics")
    return only(get, admin_op::metrics, "GET");
  if (path == "/admin/andon") {
    if (get)
      return op(admin_op::andon_get);
    return only(post, admin_op::andon_set, "GET, POST");
  }
  if (path == "/admin/chaos")
    return only(post, admin_op::chaos, "POST");
  if (path == "/admin/upstreams")
    return only(get, admin_op::upstreams, "GET");
  if (path == "/admin/cluster")
    return only(get, admin_op::cluster, "GET");
  if (path == "/admin/tasks")
    return only(get, admin_op::tasks, "GET");
  if (path == "/admin/tree") {
    if (!get)
      return refused(405, "method not allowed", "GET");
    auto r = op(admin_op::tree);
    auto d = query_value(query, "depth");
    if (!d.empty() && (!number(d, r.depth) || r.depth < 0 || r.depth > 16))
      return refused(400, "depth must be a number from 0 to 16");
    auto node = protocol::percent_decode(query_value(query, "node"));
    if (!node || node->size() > 255)
      return refused(400, "node must be a member's name");
    r.node = std::move(*node);
    return r;
  }
  constexpr std::string_view tree_prefix = "/admin/tree/";
  if (path.substr(0, tree_prefix.size()) == tree_prefix) {
    if (!get)
      return refused(405, "method not allowed", "GET");
    auto r = op(admin_op::shard);
    auto rest = path.substr(tree_prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos
        || !number(rest.substr(0, slash), r.meta)
        || !number(rest.substr(slash + 1), r.shard))
      return refused(404, "not found: use /admin/tree/META/SHARD");
    r.cursor = std::string{query_value(query, "cursor")};
    return r;
  }
  return refused(404, "not found");
}

} // namespace mcpvisor::transports
