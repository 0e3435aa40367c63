#pragma once

#include <memory>

#include "protocol/auth.hpp"
#include "transports/http_reader.hpp"
#include "transports/tls.hpp"

/// MCP over WebSocket (websocket.cpp): one session per connection.
namespace mcpvisor::transports {

class connection;

/// Takes over `stream`, on which the upgrade request `req` was read from
/// `owner` (kept alive for its accounting), and serves one MCP session on
/// it until either side closes. With a token's principal `who`, every
/// message is its, and the connection closes when the token expires (at
/// `expires`, seconds since the epoch).
void serve_websocket(server_stream stream, std::shared_ptr<connection> owner,
                     request_reader::request req, protocol::principal_ptr who = nullptr,
                     int64_t expires = 0);

} // namespace mcpvisor::transports
