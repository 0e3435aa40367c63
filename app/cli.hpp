#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "actors/node.hpp"
#include "actors/upstream_link.hpp"
#include "tools/tool_sets.hpp"
#include "protocol/engine.hpp"
#include "transports/admin_server.hpp"
#include "transports/auth.hpp"
#include "transports/http_server.hpp"
#include "transports/tls.hpp"

namespace mcpvisor::app {

/// Everything the command line and the config file set.
struct options {
  actors::node_config node;
  transports::http_config http;
  protocol::engine_config engine;
  /// `--tools`: the built-in set to serve.
  std::string tools = "default";
  tools::tool_set_options tool_options;
  /// `--stdio`: serve one session on stdin/stdout instead of HTTP.
  bool stdio = false;
  /// `--admin HOST:PORT`: serve the admin endpoint (off when unset).
  bool admin = false;
  transports::admin_config admin_cfg;
  /// `--chaos JSON`: crash-injection orders run from start-up.
  std::vector<std::string> chaos;
  /// `--drain-timeout`: how long handlers still running at shutdown are
  /// waited for before the process exits without them.
  std::chrono::seconds drain_timeout{10};
  /// `--upstream` and `[upstream.NAME]`: MCP servers fronted.
  std::vector<actors::upstream_config> upstreams;
  /// The key that seals cursors and requestState: shared by a cluster's
  /// nodes (`--cluster-secret-file`), else random per process.
  std::optional<std::array<uint8_t, 32>> seal_secret;
  /// `--tls-*` and `--admin-tls-*`: HTTPS for the MCP and admin endpoints
  /// (the admin endpoint uses the MCP pair unless given its own).
  transports::tls_files tls;
  transports::tls_files admin_tls;
  /// `--auth-*` and `[required_scopes]`: bearer tokens for the MCP endpoint.
  transports::auth_config auth;
};

/// Either options, or the exit status to leave with at once (after --help,
/// or after a usage error that was already printed to stderr).
class parse_result {
public:
  parse_result(options opts) : value_(std::move(opts)) {
    // nop
  }
  parse_result(int status) : value_(status) {
    // nop
  }
  explicit operator bool() const noexcept {
    return value_.index() == 0;
  }
  options* operator->() {
    return &std::get<0>(value_);
  }
  options& operator*() {
    return std::get<0>(value_);
  }
  int error() const {
    return std::get<1>(value_);
  }

private:
  std::variant<options, int> value_;
};

/// Parses flags and the optional `--config FILE` (TOML: `key = value` with
/// the long flag names as keys). Flags win over the file. `tools` is the
/// built-in set served when `--tools` is not given.
parse_result parse_command_line(int argc, char** argv,
                                std::string_view tools = "default");

} // namespace mcpvisor::app
