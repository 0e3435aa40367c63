#include "transports/admin_server.hpp"

#include <atomic>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include "actors/admin.hpp"
#include "protocol/ingress.hpp"
#include "actors/log.hpp"
#include "transports/admin_page.hpp"
#include "transports/admin_routes.hpp"
#include "transports/http_reader.hpp"
#include "transports/http_wire.hpp"
#include "transports/listener.hpp"
#include "transports/tls.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t max_body = 64 * 1024;
constexpr auto read_timeout = std::chrono::seconds{30};

std::string json_error(std::string_view text) {
  std::string out = "{\"error\":";
  protocol::append_quoted(out, text);
  out += '}';
  return out;
}

} // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]")
    return true;
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

struct admin_server::impl {
  impl(actors::admin& a, admin_config c)
    : api(a),
      cfg(std::move(c)),
      acceptor(ioc),
      origins(with_own_host(cfg), {}) {
    // nop
  }

  static std::vector<std::string> with_own_host(const admin_config& c) {
    auto hosts = c.allowed_hosts;
    hosts.push_back(c.host);
    return hosts;
  }

  actors::admin& api;
  admin_config cfg;
  net::io_context ioc{1};
  tcp::acceptor acceptor;
  protocol::origin_policy origins;
  std::thread thread;
  std::unique_ptr<accept_loop> acceptor_loop;
  std::atomic<bool> stopping{false};
};

namespace {

using request = http::request<http::string_body>;

/// One admin connection: reads a request, answers it (possibly later, from
/// an actor), and reads the next one.
class admin_connection : public std::enable_shared_from_this<admin_connection> {
public:
  admin_connection(tcp::socket s, admin_server::impl& srv)
    : tls_(srv.cfg.tls != nullptr ? srv.cfg.tls->current() : nullptr),
      stream_(make_server_stream(std::move(s), tls_.get())),
      srv_(srv) {
    // nop
  }

  void start() {
    net::dispatch(tcp_layer(stream_).get_executor(), [self = shared_from_this()] {
      auto* s = std::get_if<tls_stream>(&self->stream_);
      if (s == nullptr) {
        self->read();
        return;
      }
      start_tls(*s, self->buffer_, std::chrono::seconds{10}, [self](tls_start how) {
        if (how == tls_start::ok)
          self->read();
        else if (how == tls_start::plain_http)
          self->send(400, json_error("this port speaks HTTPS: use an https:// URL"), false,
                     {}, "application/json", true);
        else
          self->close();
      });
    });
  }

private:
  void read() {
    reader_.emplace(read_limits{16 * 1024, max_body});
    tcp_layer(stream_).expires_after(read_timeout);
    parse_buffered();
  }

  void parse_buffered() {
    auto data = buffer_.data();
    buffer_.consume(reader_->feed(
      {static_cast<const char*>(data.data()), data.size()}));
    if (auto& refused = reader_->refusal()) {
      send(refused->status, json_error(refused->text), false);
      return;
    }
    if (reader_->done()) {
      req_ = reader_->release();
      reader_.reset();
      route();
      return;
    }
    std::visit(
      [this](auto& s) {
        s.async_read_some(buffer_.prepare(16 * 1024),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->buffer_.commit(n);
                            self->parse_buffered();
                          });
      },
      stream_);
  }

  bool authorized() const {
    if (srv_.cfg.token.empty())
      return true;
    auto h = req_[http::field::authorization];
    std::string_view given{h.data(), h.size()};
    constexpr std::string_view bearer = "Bearer ";
    if (given.size() != bearer.size() + srv_.cfg.token.size()
        || given.substr(0, bearer.size()) != bearer)
      return false;
    return CRYPTO_memcmp(given.data() + bearer.size(), srv_.cfg.token.data(),
                         srv_.cfg.token.size())
           == 0;
  }

  void route() {
    auto host = req_[http::field::host];
    auto origin = req_[http::field::origin];
    if (!srv_.origins.allows({host.data(), host.size()}, {origin.data(), origin.size()})) {
      send(403, json_error("forbidden: Host or Origin is not allowed"));
      return;
    }
    auto method = req_.method_string();
    auto r = route_admin({method.data(), method.size()},
                         {req_.target().data(), req_.target().size()});
    if (r.needs_token && !authorized()) {
      send(401, json_error("unauthorized: send Authorization: Bearer <token>"));
      return;
    }
    auto reply = [self = shared_from_this()](actors::admin_answer a) {
      net::post(tcp_layer(self->stream_).get_executor(), [self, a = std::move(a)]() mutable {
        self->send(a.status, std::move(a.body), true, {}, a.content_type);
      });
    };
    auto& api = srv_.api;
    switch (r.op) {
      case admin_op::refuse:
        allow_ = r.allow;
        send(r.status, json_error(r.error));
        return;
      case admin_op::redirect_page:
        send(302, {}, true, "/admin/");
        return;
      case admin_op::page:
        send(200, std::string{admin_page()}, true, {}, "text/html; charset=utf-8");
        return;
      case admin_op::health:
        return answer(api.health());
      case admin_op::ready:
        return answer(api.ready());
      case admin_op::metrics:
        return answer(api.metrics());
      case admin_op::upstreams:
        return answer(api.upstreams());
      case admin_op::cluster:
        return answer(api.cluster());
      case admin_op::tasks:
        return answer(api.tasks());
      case admin_op::andon_get:
        return answer(api.andon());
      case admin_op::andon_set:
        return answer(api.andon(req_.body()));
      case admin_op::chaos:
        api.chaos(req_.body(), reply);
        return;
      case admin_op::tree:
        api.tree(r.depth, r.node, reply);
        return;
      case admin_op::shard:
        api.shard(r.meta, r.shard, r.cursor, reply);
        return;
    }
  }

  void answer(actors::admin_answer a) {
    send(a.status, std::move(a.body), true, {}, a.content_type);
  }

  void close() {
    beast::error_code ignored;
    tcp_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  /// `plain`: on the TCP layer even if the connection speaks TLS (the
  /// answer to a plain HTTP request on the TLS port).
  void send(int status, std::string body, bool keep = true,
            std::string_view location = {},
            std::string_view type = "application/json", bool plain = false) {
    keep = keep && req_.keep_alive();
    auto out = std::make_shared<std::string>(wire::response(
      status, body.empty() ? std::string_view{} : type, body, keep,
      {{"Server", "mcpvisor-admin"},
       {"Cache-Control", "no-store"},
       {"Location", location},
       {"Allow", allow_},
       {"WWW-Authenticate", status == 401 ? "Bearer" : ""}}));
    allow_.clear();
    auto done = [self = shared_from_this(), out, keep](beast::error_code ec, size_t) {
      if (ec || !keep) {
        beast::error_code ignored;
        tcp_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (!ec)
          self->linger();
        return;
      }
      self->read();
    };
    if (auto* s = std::get_if<tls_stream>(&stream_); s != nullptr && !plain)
      net::async_write(*s, net::buffer(*out), std::move(done));
    else
      net::async_write(tcp_layer(stream_).socket(), net::buffer(*out), std::move(done));
  }

  /// Reads and drops what the client still sends (at most 1 MiB, 2 s)
  /// before the socket closes, so that the answer is not lost to a reset.
  void linger(size_t dropped = 0) {
    if (dropped == 0)
      tcp_layer(stream_).expires_after(std::chrono::seconds{2});
    buffer_.clear();
    tcp_layer(stream_).async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this(), dropped](
                              beast::error_code ec, size_t n) {
                              if (!ec && dropped + n <= 1024 * 1024)
                                self->linger(dropped + n);
                            });
  }

  std::shared_ptr<net::ssl::context> tls_;
  server_stream stream_;
  admin_server::impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<request_reader> reader_;
  request req_;
  std::string allow_;
};

} // namespace

admin_server::admin_server(actors::admin& api, admin_config cfg)
  : impl_(std::make_unique<impl>(api, std::move(cfg))) {
  // nop
}

admin_server::~admin_server() {
  stop();
}

std::optional<std::string> admin_server::start() {
  auto& s = *impl_;
  if (!is_loopback(s.cfg.host) && s.cfg.token.empty())
    return "the admin endpoint on " + s.cfg.host
           + " would be reachable from other hosts: set --admin-token";
  beast::error_code ec;
  auto addr = net::ip::make_address(s.cfg.host == "localhost" ? "127.0.0.1"
                                                              : s.cfg.host,
                                    ec);
  if (ec)
    return "invalid admin address '" + s.cfg.host + "'";
  if (auto failed = listen_on(s.acceptor, addr, s.cfg.host, s.cfg.port))
    return failed;
  s.acceptor_loop = std::make_unique<accept_loop>(
    s.ioc, s.acceptor,
    [&s](tcp::socket sock) {
      std::make_shared<admin_connection>(std::move(sock), s)->start();
    },
    [](const std::string& error) {
      log::warn("admin accept failed; retrying in 50 ms", {{"error", error}});
    });
  s.acceptor_loop->start();
  s.thread = std::thread{[&s] { run_io(s.ioc, "admin"); }};
  return std::nullopt;
}

uint16_t admin_server::port() const {
  return bound_port(impl_->acceptor);
}

void admin_server::stop() {
  auto& s = *impl_;
  if (s.stopping.exchange(true))
    return;
  s.ioc.stop();
  if (s.thread.joinable())
    s.thread.join();
}

} // namespace mcpvisor::transports
