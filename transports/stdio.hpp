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
/// stdin is not read while more than `max_queued` bytes of answers wait
/// for the client to read stdout.
void serve_stdio(actors::gateway& gw, size_t max_line = 4 * 1024 * 1024,
                 size_t max_queued = 8 * 1024 * 1024);

} // namespace mcpvisor::transports
