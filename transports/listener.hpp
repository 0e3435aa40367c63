#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>

/// What the MCP and admin listeners share to open their socket.
namespace mcpvisor::transports {

/// Opens `acceptor` on `addr`:`port` (address reuse, the system's largest
/// backlog); the reason, naming `host`, if it cannot.
std::optional<std::string> listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                     const boost::asio::ip::address& addr,
                                     const std::string& host, uint16_t port);

/// The port `acceptor` is bound to (0 if it is not).
uint16_t bound_port(const boost::asio::ip::tcp::acceptor& acceptor);

} // namespace mcpvisor::transports
