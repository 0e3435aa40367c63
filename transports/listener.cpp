#include "transports/listener.hpp"

namespace mcpvisor::transports {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<std::string> listen_on(tcp::acceptor& acceptor,
                                     const net::ip::address& addr,
                                     const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  tcp::endpoint ep{addr, port};
  acceptor.open(ep.protocol(), ec);
  if (!ec)
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(ep, ec);
  if (!ec)
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return "cannot listen on " + host + ":" + std::to_string(port) + ": "
           + ec.message();
  return std::nullopt;
}

uint16_t bound_port(const tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto ep = acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

} // namespace mcpvisor::transports
