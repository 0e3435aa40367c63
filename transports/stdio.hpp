#pragma once

#include <cstddef>

namespace mcpvisor::actors {
class gateway;
}

/// MCP over stdin/stdout: newline-delimited JSON-RPC, one session (and any
/// stateless requests), nothing but MCP on stdout.
namespace mcpvisor::transports {

/// Reads messages from stdin until EOF, then ends the session. Blocks.
/// Lines longer than `max_line` are refused with an error and skipped.
void serve_stdio(actors::gateway& gw, size_t max_line = 4 * 1024 * 1024);

} // namespace mcpvisor::transports
