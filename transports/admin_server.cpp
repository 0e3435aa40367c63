#include "transports/admin_server.hpp"

#include <atomic>
#include <charconv>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include "actors/admin.hpp"
#include "actors/log.hpp"
#include "transports/admin_page.hpp"
#include "transports/http_rules.hpp"
#include "transports/listener.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t max_body = 64 * 1024;
constexpr auto read_timeout = std::chrono::seconds{30};

std::string json_error(std::string_view text) {
  std::string out = "{\"error\":\"";
  log::escape_json(out, text);
  out += "\"}";
  return out;
}

/// Parses a decimal number that must fill `text`.
template <class T>
bool number(std::string_view text, T& out) {
  auto end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && p == end && !text.empty();
}

/// The value of `key` in a query string, or empty.
std::string_view query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{}
                                          : pair.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
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
  origin_policy origins;
  std::thread thread;
  std::atomic<bool> stopping{false};

  void accept();
};

namespace {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// One admin connection: reads a request, answers it (possibly later, from
/// an actor), and reads the next one.
class admin_connection : public std::enable_shared_from_this<admin_connection> {
public:
  admin_connection(tcp::socket s, admin_server::impl& srv)
    : stream_(std::move(s)), srv_(srv) {
    // nop
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read(); });
  }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(max_body);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      send(413, json_error("request body too large"), false);
      return;
    }
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    req_ = parser_->release();
    route();
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
    auto target = std::string_view{req_.target().data(), req_.target().size()};
    auto q = target.find('?');
    auto path = target.substr(0, q);
    auto query = q == std::string_view::npos ? std::string_view{}
                                             : target.substr(q + 1);
    auto host = req_[http::field::host];
    auto origin = req_[http::field::origin];
    if (!srv_.origins.host_ok({host.data(), host.size()})
        || (!origin.empty()
            && !srv_.origins.origin_ok({origin.data(), origin.size()}))) {
      send(403, json_error("forbidden: Host or Origin is not allowed"));
      return;
    }
    auto method = req_.method();
    bool get = method == http::verb::get;
    bool post = method == http::verb::post;
    // the page holds no data: it is served without the token, and its
    // script sends the token (from the URL fragment) with every call
    if (path == "/admin") {
      send(302, {}, true, "/admin/");
      return;
    }
    if (path == "/admin/") {
      if (!get)
        return not_allowed("GET");
      send(200, std::string{admin_page()}, true, {}, "text/html; charset=utf-8");
      return;
    }
    if (!authorized()) {
      send(401, json_error("unauthorized: send Authorization: Bearer <token>"));
      return;
    }
    auto reply = [self = shared_from_this()](actors::admin_answer a) {
      net::post(self->stream_.get_executor(), [self, a = std::move(a)]() mutable {
        self->send(a.status, std::move(a.body), true, {}, a.content_type);
      });
    };
    if (path == "/healthz")
      return get ? answer(srv_.api.health()) : not_allowed("GET");
    if (path == "/readyz")
      return get ? answer(srv_.api.ready()) : not_allowed("GET");
    if (path == "/metrics")
      return get ? answer(srv_.api.metrics()) : not_allowed("GET");
    if (path == "/admin/andon") {
      if (get)
        return answer(srv_.api.andon());
      if (post)
        return answer(srv_.api.andon(req_.body()));
      return not_allowed("GET, POST");
    }
    if (path == "/admin/chaos") {
      if (!post)
        return not_allowed("POST");
      srv_.api.chaos(req_.body(), reply);
      return;
    }
    if (path == "/admin/tree") {
      if (!get)
        return not_allowed("GET");
      int depth = 3;
      auto d = query_value(query, "depth");
      if (!d.empty() && (!number(d, depth) || depth < 0 || depth > 16)) {
        send(400, json_error("depth must be a number from 0 to 16"));
        return;
      }
      srv_.api.tree(depth, reply);
      return;
    }
    constexpr std::string_view tree_prefix = "/admin/tree/";
    if (path.substr(0, tree_prefix.size()) == tree_prefix) {
      if (!get)
        return not_allowed("GET");
      auto rest = path.substr(tree_prefix.size());
      auto slash = rest.find('/');
      uint32_t meta = 0;
      uint32_t shard = 0;
      if (slash == std::string_view::npos
          || !number(rest.substr(0, slash), meta)
          || !number(rest.substr(slash + 1), shard)) {
        send(404, json_error("not found: use /admin/tree/META/SHARD"));
        return;
      }
      srv_.api.shard(meta, shard, query_value(query, "cursor"), reply);
      return;
    }
    send(404, json_error("not found"));
  }

  void answer(actors::admin_answer a) {
    send(a.status, std::move(a.body), true, {}, a.content_type);
  }

  void not_allowed(std::string_view allow) {
    allow_ = allow;
    send(405, json_error("method not allowed"));
  }

  void send(int status, std::string body, bool keep = true,
            std::string_view location = {},
            std::string_view type = "application/json") {
    auto res = std::make_shared<response>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "mcpvisor-admin");
    res->set(http::field::cache_control, "no-store");
    if (!body.empty())
      res->set(http::field::content_type, type);
    if (!location.empty())
      res->set(http::field::location, location);
    if (!allow_.empty())
      res->set(http::field::allow, allow_);
    if (status == 401)
      res->set(http::field::www_authenticate, "Bearer");
    if (status == 503)
      res->set(http::field::retry_after, "1");
    res->keep_alive(keep && req_.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    allow_.clear();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(
                            tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  admin_server::impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  request req_;
  std::string allow_;
};

} // namespace

void admin_server::impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec,
                                                      tcp::socket s) {
    if (stopping.load())
      return;
    if (!ec)
      std::make_shared<admin_connection>(std::move(s), *this)->start();
    accept();
  });
}

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
  s.accept();
  s.thread = std::thread{[&s] { s.ioc.run(); }};
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
