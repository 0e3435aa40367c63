#pragma once

#include <cstdint>
#include <string>
#include <string_view>

/// The admin endpoint's request rules as a pure function, without Beast or
/// a socket: which operation a method and target ask for, or the refusal.
/// The connection in admin_server.cpp checks Host, Origin and the token and
/// then calls the operation; a fuzz target calls `route_admin` directly.
namespace mcpvisor::transports {

enum class admin_op : uint8_t {
  /// Refused: `status` and `error` say why.
  refuse,
  redirect_page,
  page,
  health,
  ready,
  metrics,
  andon_get,
  andon_set,
  chaos,
  tree,
  shard,
  upstreams,
  cluster,
  tasks,
};

struct admin_route {
  admin_op op = admin_op::refuse;
  int status = 200;
  std::string error;
  /// For a 405: the methods allowed.
  std::string_view allow;
  /// Whether the bearer token is checked first (everything but the page).
  bool needs_token = true;
  int depth = 3;
  /// tree: the cluster member whose tree is asked for (empty: this node).
  std::string node;
  uint32_t meta = 0;
  uint32_t shard = 0;
  std::string cursor;
};

/// Routes `method` (upper case, as sent) and `target` (path and query).
admin_route route_admin(std::string_view method, std::string_view target);

} // namespace mcpvisor::transports
