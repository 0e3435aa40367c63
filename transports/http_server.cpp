#include "transports/http_server.hpp"

#include <algorithm>
#include <thread>

#include <boost/asio.hpp>

#include "actors/gateway.hpp"
#include "actors/log.hpp"
#include "transports/http_connection.hpp"
#include "transports/listener.hpp"
#include "transports/tls.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct http_server::impl {
  impl(actors::gateway& g, http_config c)
    : cfg(std::move(c)), shared(g, cfg), ioc(static_cast<int>(cfg.io_threads)),
      acceptor(ioc) {
    // nop
  }

  http_config cfg;
  http_shared shared;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::unique_ptr<net::steady_timer> tick_timer;
  std::unique_ptr<accept_loop> acceptor_loop;
  std::atomic<bool> stopping{false};

  void take(tcp::socket socket);
  void tick();
};

// -- accept loop --------------------------------------------------------------

void http_server::impl::take(tcp::socket socket) {
  auto& sh = shared;
  auto n = sh.open.fetch_add(1, std::memory_order_relaxed) + 1;
  auto c = std::make_shared<connection>(std::move(socket), sh,
                                        cfg.tls != nullptr ? cfg.tls->current() : nullptr);
  if (n > cfg.max_connections || sh.gw.overloaded()) {
    // over the limit, or the andon cord is pulled: close at once and keep
    // accepting
    sh.gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
    c->shutdown();
    return;
  }
  sh.gw.stats().connections_accepted.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard{sh.mtx};
    if (sh.conns.size() > 2 * sh.open.load() + 64)
      sh.conns.erase(std::remove_if(sh.conns.begin(), sh.conns.end(),
                                    [](auto& w) { return w.expired(); }),
                     sh.conns.end());
    sh.conns.push_back(c);
  }
  c->start();
}

/// Every `keepalive` (15 s when keep-alive comments are off): each
/// connection with an exchange under way gets its tick.
void http_server::impl::tick() {
  if (stopping.load())
    return;
  tick_timer->expires_after(cfg.keepalive.count() > 0 ? cfg.keepalive
                                                      : std::chrono::seconds{15});
  tick_timer->async_wait([this](beast::error_code ec) {
    if (ec || stopping.load())
      return;
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard<std::mutex> guard{shared.mtx};
      for (auto& w : shared.conns)
        if (auto c = w.lock())
          live.push_back(std::move(c));
    }
    for (auto& c : live)
      c->tick();
    shared.legacy.sweep(shared.gw);
    tick();
  });
}

// -- http_server --------------------------------------------------------------

http_server::http_server(actors::gateway& gw, http_config cfg)
  : impl_(std::make_unique<impl>(gw, std::move(cfg))) {
  // nop
}

http_server::~http_server() {
  stop();
}

std::optional<std::string> http_server::start() {
  auto& s = *impl_;
  beast::error_code ec;
  auto addr = net::ip::make_address(s.cfg.host, ec);
  if (ec)
    return "invalid listen address '" + s.cfg.host + "'";
  if (auto failed = listen_on(s.acceptor, addr, s.cfg.host, s.cfg.port))
    return failed;
  s.tick_timer = std::make_unique<net::steady_timer>(s.ioc);
  s.acceptor_loop = std::make_unique<accept_loop>(
    s.ioc, s.acceptor, [&s](tcp::socket sock) { s.take(std::move(sock)); },
    [&s](const std::string& error) {
      s.shared.gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
      log::warn("accept failed; retrying in 50 ms", {{"error", error}});
    });
  s.acceptor_loop->start();
  s.tick();
  for (size_t i = 0; i < std::max<size_t>(1, s.cfg.io_threads); ++i)
    s.threads.emplace_back([&s] { run_io(s.ioc, "mcp"); });
  return std::nullopt;
}

uint16_t http_server::port() const {
  return bound_port(impl_->acceptor);
}

void http_server::stop() {
  auto& s = *impl_;
  if (s.stopping.exchange(true))
    return;
  s.shared.stopping.store(true, std::memory_order_release);
  if (s.acceptor_loop)
    s.acceptor_loop->stop();
  net::post(s.ioc, [&s] {
    if (s.tick_timer)
      s.tick_timer->cancel();
  });
  auto& sh = s.shared;
  std::vector<std::shared_ptr<connection>> live;
  {
    std::lock_guard<std::mutex> guard{sh.mtx};
    for (auto& w : sh.conns)
      if (auto c = w.lock())
        live.push_back(std::move(c));
    sh.conns.clear();
  }
  for (auto& c : live)
    c->stop_serving();
  live.clear();
  // requests still waiting are answered and written out; a client that
  // does not read its answer is not waited for long
  if (sh.open.load() > 0)
    (void) sh.all_closed.try_acquire_for(std::chrono::seconds{2});
  s.ioc.stop();
  for (auto& t : s.threads)
    if (t.joinable())
      t.join();
  s.threads.clear();
}

size_t http_server::connections() const {
  return impl_->shared.open.load();
}

} // namespace mcpvisor::transports
