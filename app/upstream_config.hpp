#pragma once

#include <optional>
#include <string>
#include <vector>

#include "actors/upstream_link.hpp"
#include "protocol/auth.hpp"

/// Upstream MCP servers from the command line and the config file
/// (docs/configuration.md, "Upstream MCP servers").
namespace mcpvisor::app {

/// `NAME=COMMAND ARGS...` (a stdio server; arguments split at spaces, with
/// '...' and "..." quoting) or `NAME=http://HOST:PORT/mcp`.
std::optional<actors::upstream_config> parse_upstream_flag(const std::string& flag,
                                                           std::string& error);

/// The `[upstream.NAME]` tables of a TOML file, added to `out`; false with
/// `error` on a bad table.
/// Reads the `[required_scopes]` table of the config file at `path`:
/// `"tool:NAME" = ["scope", ...]` (or a space-separated string), also
/// `resource:URI`, `prompt:NAME` and `"*"`.
bool read_required_scopes(const std::string& path, protocol::scope_rules& out,
                          std::string& error);

bool read_upstream_tables(const std::string& path,
                          std::vector<actors::upstream_config>& out, std::string& error);

} // namespace mcpvisor::app
