#pragma once

#include "protocol/ingress.hpp"
#include "transports/http_reader.hpp"

namespace mcpvisor::transports {

/// The parts of a request that protocol/ingress reads, as views into it
/// (valid while `req` lives and is not changed).
protocol::http_request request_view(const request_reader::request& req);

} // namespace mcpvisor::transports
