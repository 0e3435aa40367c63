#include "transports/http_server.hpp"

#include <algorithm>
#include <cstdlib>

#include <boost/asio.hpp>

#include "actors/gateway.hpp"
#include "actors/log.hpp"
#include "transports/http_connection.hpp"
#include "transports/io_lanes.hpp"
#include "transports/listener.hpp"
#include "transports/tls.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct http_server::impl {
  impl(actors::gateway& g, http_config c)
    : cfg(std::move(c)), shared(g, cfg),
      own_lanes(cfg.lanes == nullptr ? std::make_unique<io_lanes>(cfg.io_threads) : nullptr),
      lanes(cfg.lanes != nullptr ? *cfg.lanes : *own_lanes), acceptor(lanes.lane(0)) {
    // nop
  }

  http_config cfg;
  http_shared shared;
  /// Destroyed before `shared`: handlers still queued refer to it.
  std::unique_ptr<io_lanes> own_lanes;
  io_lanes& lanes;
  tcp::acceptor acceptor;
  std::unique_ptr<net::steady_timer> tick_timer;
  std::unique_ptr<accept_loop> acceptor_loop;
  std::atomic<bool> stopping{false};

  void take(tcp::socket socket);
  void tick();

  /// Calls `fn` on every open connection (outside the list's lock).
  template <class F>
  void each_live(F fn) {
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard<std::mutex> guard{shared.mtx};
      for (auto& w : shared.conns)
        if (auto c = w.lock())
          live.push_back(std::move(c));
    }
    for (auto& c : live)
      fn(*c);
  }
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
    each_live([](connection& c) { c.tick(); });
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
  s.tick_timer = std::make_unique<net::steady_timer>(s.lanes.lane(0));
  s.acceptor_loop = std::make_unique<accept_loop>(
    s.lanes.lane(0), s.acceptor, [&s](tcp::socket sock) { s.take(std::move(sock)); },
    [&s](const std::string& error) {
      s.shared.gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
      log::warn("accept failed; retrying in 50 ms", {{"error", error}});
    });
  // each connection on the lanes in turn
  s.acceptor_loop->place_on([&s] { return s.lanes.lane(s.lanes.next()).get_executor(); });
  s.acceptor_loop->start();
  net::post(s.lanes.lane(0), [&s] { s.tick(); });
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
  net::post(s.lanes.lane(0), [&s] {
    if (s.tick_timer)
      s.tick_timer->cancel();
  });
  auto& sh = s.shared;
  s.each_live([](connection& c) { c.stop_serving(); });
  // requests still waiting are answered and written out; a client that
  // does not read its answer is not waited for long
  if (sh.open.load() > 0)
    (void) sh.all_closed.try_acquire_for(std::chrono::seconds{2});
  if (s.own_lanes != nullptr) {
    s.own_lanes->stop();
    return;
  }
  // the lanes go on running actors: no handler of this server may be left
  // on them, so what is still open is closed at once
  s.each_live([](connection& c) { c.shutdown(); });
  if (sh.open.load() > 0 && !sh.all_closed.try_acquire_for(std::chrono::seconds{3})) {
    log::error("connections did not close; exiting without them",
               {{"open", std::to_string(sh.open.load())}});
    std::_Exit(3);
  }
  // the acceptor's and the timer's last handlers have run
  s.lanes.barrier();
}

size_t http_server::connections() const {
  return impl_->shared.open.load();
}

} // namespace mcpvisor::transports
