#include "transports/auth.hpp"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/crypto.h>

#include "actors/log.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/seal.hpp"

namespace mcpvisor::transports {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::string_view well_known = "/.well-known/oauth-protected-resource";
constexpr std::string_view bind_purpose = "session-subject";

bool is_url(std::string_view s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

/// http://localhost..., http://127.x.y.z..., http://[::1]...: a key set
/// fetched without TLS is only trusted from this machine.
bool is_loopback_http(std::string_view url) {
  if (url.rfind("http://", 0) != 0)
    return false;
  auto authority = url.substr(7, url.find('/', 7) - 7);
  auto host = authority.substr(0, authority.rfind(':'));
  if (authority.front() == '[')
    host = authority.substr(0, authority.find(']') + 1);
  return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

/// scheme://authority and the path of an http(s) URL.
std::pair<std::string, std::string> split_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return {};
  auto slash = url.find('/', scheme_end + 3);
  if (slash == std::string_view::npos)
    return {std::string{url}, ""};
  auto path = url.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  if (path == "/")
    path = {};
  return {std::string{url.substr(0, slash)}, std::string{path}};
}

/// GET `url` (http or https, the system's CAs for https) within `limit`.
std::optional<std::string> fetch(const std::string& url, std::chrono::seconds limit,
                                 std::string& why) {
  bool tls = url.rfind("https://", 0) == 0;
  auto [origin, path] = split_url(url);
  auto authority = origin.substr(origin.find("://") + 3);
  std::string host = authority;
  std::string port = tls ? "443" : "80";
  if (auto colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  auto target = url.substr(origin.size());
  if (target.empty())
    target = "/";
  net::io_context ioc;
  std::optional<ssl::context> ctx;
  try {
    ctx.emplace(ssl::context::tls_client);
    ctx->set_default_verify_paths();
    ctx->set_verify_mode(ssl::verify_peer);
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
  std::optional<std::string> out;
  auto run = [&]() -> net::awaitable<void> {
    try {
      tcp::resolver resolver{ioc};
      auto where = co_await resolver.async_resolve(host, port, net::use_awaitable);
      http::request<http::empty_body> req{http::verb::get, target, 11};
      req.set(http::field::host, authority);
      req.set(http::field::accept, "application/json");
      req.set(http::field::user_agent, "mcpvisor");
      beast::flat_buffer buf;
      http::response_parser<http::string_body> res;
      res.body_limit(1024 * 1024);
      if (tls) {
        beast::ssl_stream<beast::tcp_stream> s{ioc, *ctx};
        if (!SSL_set_tlsext_host_name(s.native_handle(), host.c_str()))
          throw std::runtime_error{"bad host name"};
        s.set_verify_callback(ssl::host_name_verification(host));
        co_await beast::get_lowest_layer(s).async_connect(where, net::use_awaitable);
        co_await s.async_handshake(ssl::stream_base::client, net::use_awaitable);
        co_await http::async_write(s, req, net::use_awaitable);
        co_await http::async_read(s, buf, res, net::use_awaitable);
      } else {
        beast::tcp_stream s{ioc};
        co_await s.async_connect(where, net::use_awaitable);
        co_await http::async_write(s, req, net::use_awaitable);
        co_await http::async_read(s, buf, res, net::use_awaitable);
      }
      if (res.get().result_int() != 200)
        why = "HTTP status " + std::to_string(res.get().result_int());
      else
        out = std::move(res.get().body());
    } catch (const std::exception& e) {
      why = e.what();
    }
  };
  net::co_spawn(ioc, run(), net::detached);
  ioc.run_for(limit);
  if (!ioc.stopped() && !out)
    why = "no answer within " + std::to_string(limit.count()) + " s";
  return out;
}

std::string json_error(std::string_view text) {
  return protocol::encode_error({}, protocol::errc::invalid_request, text);
}

} // namespace

struct bearer_auth::impl {
  explicit impl(auth_config c, std::array<uint8_t, 32> secret)
    : cfg(std::move(c)), seal(secret) {
    // nop
  }

  auth_config cfg;
  protocol::sealer seal;
  std::mutex mtx;
  std::condition_variable wake;
  std::shared_ptr<const protocol::key_set> keys;
  std::chrono::steady_clock::time_point last_fetch;
  bool refresh_asked = false;
  bool stopping = false;
  std::thread fetcher;

  std::shared_ptr<const protocol::key_set> current() {
    std::lock_guard<std::mutex> guard{mtx};
    return keys;
  }

  /// Reads or fetches the key set; installs it if it is one.
  bool load(std::string& why) {
    std::optional<std::string> text;
    if (is_url(cfg.jwks)) {
      text = fetch(cfg.jwks, std::chrono::seconds{10}, why);
    } else {
      std::ifstream f{cfg.jwks, std::ios::binary};
      std::stringstream ss;
      ss << f.rdbuf();
      if (f)
        text = ss.str();
      else
        why = "cannot read the file";
    }
    if (!text)
      return false;
    auto set = protocol::key_set::parse(*text, why);
    if (!set)
      return false;
    if (set->size() == 0) {
      why = "the key set has no RS256, ES256 or EdDSA signing key";
      return false;
    }
    std::lock_guard<std::mutex> guard{mtx};
    keys = std::make_shared<const protocol::key_set>(std::move(*set));
    return true;
  }

  /// Refreshes the keys every `refresh`, when asked (an unknown key id),
  /// and every 5 s while there are none.
  void run() {
    std::unique_lock<std::mutex> lock{mtx};
    for (;;) {
      auto period = keys == nullptr ? std::chrono::seconds{5} : cfg.refresh;
      wake.wait_for(lock, period, [this] { return stopping || refresh_asked; });
      if (stopping)
        return;
      refresh_asked = false;
      last_fetch = std::chrono::steady_clock::now();
      lock.unlock();
      std::string why;
      bool ok = load(why);
      if (!ok)
        log::warn("the authorization server's keys could not be refreshed",
                          {{"jwks", cfg.jwks}, {"why", why}});
      lock.lock();
    }
  }

  void ask_refresh() {
    std::lock_guard<std::mutex> guard{mtx};
    if (std::chrono::steady_clock::now() - last_fetch < cfg.min_refresh)
      return;
    last_fetch = std::chrono::steady_clock::now();
    refresh_asked = true;
    wake.notify_one();
  }
};

bearer_auth::bearer_auth(auth_config cfg, std::array<uint8_t, 32> secret)
  : impl_(std::make_unique<impl>(std::move(cfg), secret)) {
  auto& c = impl_->cfg;
  auto [origin, path] = split_url(c.audience);
  metadata_path_ = std::string{well_known} + path;
  metadata_url_ = origin + metadata_path_;
  auto scopes = c.scopes.all();
  metadata_ = protocol::resource_metadata(c.audience, c.issuer, scopes);
}

bearer_auth::~bearer_auth() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->fetcher.joinable())
    impl_->fetcher.join();
}

std::optional<std::string> bearer_auth::start() {
  auto& c = impl_->cfg;
  if (!is_url(c.audience))
    return "--auth-audience must be this resource's http(s) URL (the MCP endpoint)";
  if (c.jwks.rfind("http://", 0) == 0 && !is_loopback_http(c.jwks))
    return "--auth-jwks must be an https:// URL (plain http only on loopback): "
           "whoever can change the key set can sign any token";
  std::string why;
  if (!impl_->load(why)) {
    if (!is_url(c.jwks))
      return "--auth-jwks " + c.jwks + ": " + why;
    // the authorization server may come up later: retried every 5 s, and
    // tokens get 503 until then
    log::warn("the authorization server's keys could not be fetched; retrying",
                      {{"jwks", c.jwks}, {"why", why}});
  }
  if (is_url(c.jwks))
    impl_->fetcher = std::thread{[this] { impl_->run(); }};
  return std::nullopt;
}

bearer_auth::verdict bearer_auth::check(std::string_view authorization) {
  verdict v;
  auto token = protocol::bearer_token(authorization);
  if (token.empty()) {
    // no credentials: the challenge only (RFC 6750 §3.1)
    v.status = 401;
    v.challenge = protocol::bearer_challenge(metadata_url_);
    v.body = json_error("unauthorized: this endpoint needs a bearer token");
    return v;
  }
  auto keys = impl_->current();
  if (keys == nullptr) {
    v.status = 503;
    v.body = json_error("the authorization server's keys are not available yet; retry later");
    return v;
  }
  auto c = protocol::check_token(token, *keys, {impl_->cfg.issuer, impl_->cfg.audience,
                                                impl_->cfg.leeway.count()},
                                 std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  if (!c.ok) {
    if (c.unknown_key && is_url(impl_->cfg.jwks))
      impl_->ask_refresh();
    v.status = 401;
    v.challenge = protocol::bearer_challenge(metadata_url_, "invalid_token", c.why);
    v.body = json_error("unauthorized: " + c.why);
    return v;
  }
  v.who = std::make_shared<const protocol::principal>(std::move(c.who));
  v.expires = c.expires;
  return v;
}

bearer_auth::verdict bearer_auth::authorize(const protocol::message& msg,
                                            const protocol::principal& who) const {
  return authorize(impl_->cfg.scopes.required(msg), who, msg.id);
}

bearer_auth::verdict bearer_auth::authorize(const protocol::principal& who) const {
  return authorize(impl_->cfg.scopes.always(), who, {});
}

bearer_auth::verdict bearer_auth::authorize(const std::vector<std::string>& needed,
                                            const protocol::principal& who,
                                            const protocol::request_id& id) const {
  verdict v;
  std::string missing;
  for (auto& s : needed)
    if (!who.has_scope(s))
      missing += (missing.empty() ? "" : " ") + s;
  if (missing.empty())
    return v;
  // the challenge names every scope the request needs, so that a client
  // that steps up asks for all of them (not only those it lacks)
  std::string all;
  for (auto& s : needed)
    all += (all.empty() ? "" : " ") + s;
  v.status = 403;
  v.challenge = protocol::bearer_challenge(metadata_url_, "insufficient_scope",
                                           "this request needs the scope " + all, all);
  v.body = protocol::encode_error(id, protocol::errc::invalid_request,
                                  "forbidden: the token lacks the scope " + missing);
  return v;
}

std::string bearer_auth::bind(std::string_view session, const protocol::principal& who) const {
  std::string payload{session};
  payload += '\n';
  payload += who.subject;
  return std::string{session} + "." + impl_->seal.tag(bind_purpose, payload);
}

std::optional<std::string_view> bearer_auth::bound(std::string_view announced,
                                                   const protocol::principal& who) const {
  auto dot = announced.rfind('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto session = announced.substr(0, dot);
  auto want = bind(session, who);
  if (want.size() != announced.size()
      || CRYPTO_memcmp(want.data(), announced.data(), want.size()) != 0)
    return std::nullopt;
  return session;
}

bool bearer_auth::is_metadata_path(std::string_view path) const {
  return path == well_known || path == metadata_path_;
}

} // namespace mcpvisor::transports
