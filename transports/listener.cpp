#include "transports/listener.hpp"

#include <exception>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "actors/log.hpp"

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

accept_loop::accept_loop(net::io_context& ioc, tcp::acceptor& acceptor,
                         socket_handler on_socket, failure_handler on_failure)
  : ioc_(ioc),
    acceptor_(acceptor),
    pause_(ioc),
    on_socket_(std::move(on_socket)),
    on_failure_(std::move(on_failure)) {
  // nop
}

void accept_loop::start() {
  accept();
}

void accept_loop::stop() {
  if (stopping_.exchange(true))
    return;
  net::post(ioc_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    pause_.cancel();
  });
}

void accept_loop::accept() {
  auto where = place_ ? place_() : net::any_io_executor{net::make_strand(ioc_)};
  acceptor_.async_accept(where, [this](
                                                   boost::system::error_code ec,
                                                   tcp::socket socket) {
    if (stopping_.load())
      return;
    if (!ec) {
      on_socket_(std::move(socket));
      accept();
      return;
    }
    if (ec == net::error::operation_aborted)
      return;
    // out of descriptors (EMFILE, ENFILE) or memory
    on_failure_(ec.message());
    pause_.expires_after(std::chrono::milliseconds{50});
    pause_.async_wait([this](boost::system::error_code) {
      if (!stopping_.load())
        accept();
    });
  });
}

void run_io(net::io_context& ioc, const char* what) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log::error("an I/O handler failed; its connection is dropped",
                 {{"listener", what}, {"error", e.what()}});
    } catch (...) {
      log::error("an I/O handler failed; its connection is dropped",
                 {{"listener", what}, {"error", "unknown exception"}});
    }
  }
}

} // namespace mcpvisor::transports
