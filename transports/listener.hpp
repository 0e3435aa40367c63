#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

/// What the MCP and admin listeners share: opening their socket, the accept
/// loop, and the I/O threads' top level.
namespace mcpvisor::transports {

/// Opens `acceptor` on `addr`:`port` (address reuse, the system's largest
/// backlog); the reason, naming `host`, if it cannot.
std::optional<std::string> listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                     const boost::asio::ip::address& addr,
                                     const std::string& host, uint16_t port);

/// The port `acceptor` is bound to (0 if it is not).
uint16_t bound_port(const boost::asio::ip::tcp::acceptor& acceptor);

/// Accepts connections until `stop`, each on a strand of its own (or where
/// `place_on` says). When
/// accepting fails (out of descriptors or memory) it pauses 50 ms instead
/// of trying again at once, so the waiting connections stay in the listen
/// backlog and no core spins on the same error.
class accept_loop {
public:
  using socket_handler = std::function<void(boost::asio::ip::tcp::socket)>;
  using failure_handler = std::function<void(const std::string& error)>;

  accept_loop(boost::asio::io_context& ioc,
              boost::asio::ip::tcp::acceptor& acceptor,
              socket_handler on_socket, failure_handler on_failure);

  /// Each accepted socket runs on the executor `where` gives (instead of
  /// a strand of the acceptor's context). Call before `start`.
  void place_on(std::function<boost::asio::any_io_executor()> where) {
    place_ = std::move(where);
  }

  void start();

  /// Closes the acceptor and cancels a pause (posted onto the I/O context).
  void stop();

private:
  void accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor& acceptor_;
  boost::asio::steady_timer pause_;
  socket_handler on_socket_;
  failure_handler on_failure_;
  std::function<boost::asio::any_io_executor()> place_;
  std::atomic<bool> stopping_{false};
};

/// An I/O thread's top level: runs `ioc` until it stops. An exception that
/// escapes a handler is logged with `what` naming the listener, and the
/// thread goes on serving the other connections.
void run_io(boost::asio::io_context& ioc, const char* what);

} // namespace mcpvisor::transports
