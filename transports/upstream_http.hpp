#pragma once

#include <memory>

#include "actors/upstream_link.hpp"

/// An upstream MCP server over Streamable HTTP: each message we send is a
/// POST (answered with JSON, an SSE stream, or 202), the session id and the
/// negotiated revision go with every request after initialize, and a GET
/// stream carries what the server sends on its own (list changes). Plain
/// http:// only for now; keep-alive connections are reused.
namespace mcpvisor::transports {

std::unique_ptr<actors::upstream_link> make_http_link(const actors::upstream_config& cfg,
                                                      size_t index);

} // namespace mcpvisor::transports
