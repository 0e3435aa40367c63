#pragma once

#include <memory>

#include "actors/upstream_link.hpp"

/// An upstream MCP server that speaks stdio: a child process in a process
/// group of its own, newline-delimited JSON-RPC on its stdin and stdout,
/// its stderr written into our log (rate-limited) with the last lines kept
/// for the admin view. Stopping it sends SIGTERM to the group, SIGKILL
/// after the grace, and reaps it: no zombies, and the child inherits none
/// of our descriptors.
namespace mcpvisor::transports {

std::unique_ptr<actors::upstream_link> make_stdio_link(const actors::upstream_config& cfg,
                                                       size_t index);

} // namespace mcpvisor::transports
