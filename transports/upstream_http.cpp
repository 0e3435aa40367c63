#include "transports/upstream_http.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/log.hpp"
#include "protocol/json.hpp"

namespace mcpvisor::transports {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;

/// http://HOST[:PORT][/PATH]
struct url_parts {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

std::optional<url_parts> parse_url(const std::string& url, std::string& why) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind("https://", 0) == 0) {
    why = "https upstreams need TLS, which is not built yet (use http:// on a "
          "trusted network)";
    return std::nullopt;
  }
  if (url.rfind(scheme, 0) != 0) {
    why = "the upstream URL must start with http://";
    return std::nullopt;
  }
  url_parts u;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos)
    u.target = rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  }
  u.host = authority;
  if (u.host.empty()) {
    why = "the upstream URL has no host";
    return std::nullopt;
  }
  return u;
}

/// Server-Sent Events: `data:` lines of one event joined with newlines.
class sse_reader {
public:
  template <class F>
  void feed(std::string_view bytes, F&& each) {
    buf_.append(bytes);
    size_t start = 0;
    for (;;) {
      auto nl = buf_.find('\n', start);
      if (nl == std::string::npos)
        break;
      auto line = std::string_view{buf_}.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      start = nl + 1;
      if (line.empty()) {
        if (!data_.empty())
          each(std::move(data_));
        data_.clear();
        continue;
      }
      if (line.rfind("data:", 0) == 0) {
        auto v = line.substr(5);
        if (!v.empty() && v.front() == ' ')
          v.remove_prefix(1);
        if (!data_.empty())
          data_ += '\n';
        data_ += v;
      }
    }
    buf_.erase(0, start);
  }

private:
  std::string buf_;
  std::string data_;
};

class http_link : public actors::upstream_link {
public:
  explicit http_link(const actors::upstream_config& cfg) : cfg_(cfg) {
    // nop
  }

  ~http_link() override {
    stop();
  }

  std::optional<std::string> start(message_handler on_message,
                                   close_handler on_closed) override {
    std::string why;
    auto u = parse_url(cfg_.url, why);
    if (!u)
      return why;
    url_ = *u;
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    work_.emplace(net::make_work_guard(ioc_));
    thread_ = std::thread{[this] { ioc_.run(); }};
    return std::nullopt;
  }

  void send(std::string json) override {
    if (stopping_.load())
      return;
    net::co_spawn(ioc_, post(std::move(json)), net::detached);
  }

  void stop() override {
    if (stopping_.exchange(true))
      return;
    net::post(ioc_, [this] {
      for (auto& s : idle_)
        s->close();
      idle_.clear();
      if (get_stream_)
        get_stream_->close();
    });
    work_.reset();
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
  }

  actors::link_info info() const override {
    return {};
  }

private:
  void closed(std::string why) {
    if (stopping_.load() || closing_.exchange(true))
      return;
    on_closed_(std::move(why));
  }

  void deliver(std::string text) {
    if (stopping_.load() || closing_.load())
      return;
    note_revision(text);
    on_message_(std::move(text));
  }

  /// The revision the upstream chose in its answer to initialize: sent as
  /// MCP-Protocol-Version from then on.
  void note_revision(const std::string& text) {
    if (!version_.empty() || text.find("protocolVersion") == std::string::npos)
      return;
    if (auto doc = protocol::parse_json(text))
      if (auto v = protocol::as_string(
            protocol::find_member(protocol::find_member(&*doc, "result"), "protocolVersion")))
        version_ = std::string{*v};
  }

  awaitable<std::unique_ptr<beast::tcp_stream>> connection() {
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      co_return s;
    }
    if (endpoints_.empty()) {
      tcp::resolver resolver{ioc_};
      endpoints_ = co_await resolver.async_resolve(url_.host, url_.port, use_awaitable);
    }
    auto s = std::make_unique<beast::tcp_stream>(ioc_);
    s->expires_after(cfg_.start_timeout);
    co_await s->async_connect(endpoints_, use_awaitable);
    s->socket().set_option(tcp::no_delay(true));
    co_return s;
  }

  http::request<http::string_body> request_of(http::verb verb, std::string body) const {
    http::request<http::string_body> req{verb, url_.target, 11};
    req.set(http::field::host, url_.host + ":" + url_.port);
    req.set(http::field::accept, "application/json, text/event-stream");
    if (verb == http::verb::post)
      req.set(http::field::content_type, "application/json");
    if (!session_.empty())
      req.set("Mcp-Session-Id", session_);
    if (!version_.empty())
      req.set("MCP-Protocol-Version", version_);
    for (auto& [k, v] : cfg_.headers)
      req.set(k, v);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  /// Reads a response body: one JSON message, or an event stream.
  awaitable<bool> read_body(beast::tcp_stream& s, beast::flat_buffer& buf,
                            http::response_parser<http::buffer_body>& p) {
    bool sse = p.get()[http::field::content_type].find("text/event-stream")
               != beast::string_view::npos;
    sse_reader events;
    std::string whole;
    char chunk[16384];
    while (!p.is_done()) {
      p.get().body().data = chunk;
      p.get().body().size = sizeof(chunk);
      beast::error_code ec;
      co_await http::async_read_some(s, buf, p, net::redirect_error(use_awaitable, ec));
      if (ec == http::error::need_buffer)
        ec = {};
      if (ec)
        co_return false;
      auto got = sizeof(chunk) - p.get().body().size;
      std::string_view bytes{chunk, got};
      if (sse) {
        events.feed(bytes, [this](std::string data) { deliver(std::move(data)); });
      } else {
        whole.append(bytes);
        if (whole.size() > cfg_.max_message_bytes) {
          closed("it sent a message larger than " + std::to_string(cfg_.max_message_bytes)
                 + " bytes");
          co_return false;
        }
      }
    }
    if (!sse && !whole.empty())
      deliver(std::move(whole));
    co_return true;
  }

  awaitable<void> post(std::string json) {
    try {
      auto s = co_await connection();
      auto req = request_of(http::verb::post, std::move(json));
      s->expires_after(cfg_.call_timeout);
      co_await http::async_write(*s, req, use_awaitable);
      beast::flat_buffer buf;
      http::response_parser<http::buffer_body> p;
      p.body_limit(boost::none);
      co_await http::async_read_header(*s, buf, p, use_awaitable);
      auto status = p.get().result_int();
      if (auto sid = p.get()["Mcp-Session-Id"]; !sid.empty() && session_.empty()) {
        session_ = std::string{sid.data(), sid.size()};
        start_listening();
      }
      if (status == 404 && !session_.empty()) {
        closed("it ended its session (404)");
        co_return;
      }
      if (status >= 400 && status != 400) {
        closed("it answered HTTP " + std::to_string(status));
        co_return;
      }
      if (!co_await read_body(*s, buf, p))
        co_return;
      if (p.keep_alive() && idle_.size() < 8)
        idle_.push_back(std::move(s));
    } catch (const std::exception& e) {
      closed(std::string{"cannot reach "} + cfg_.url + ": " + e.what());
    }
  }

  /// The GET stream of what the server sends outside any request.
  void start_listening() {
    if (listening_)
      return;
    listening_ = true;
    net::co_spawn(ioc_, listen(), net::detached);
  }

  awaitable<void> listen() {
    for (int attempt = 0; !stopping_.load() && attempt < 1000; ++attempt) {
      try {
        auto s = co_await connection();
        auto req = request_of(http::verb::get, {});
        s->expires_never();
        co_await http::async_write(*s, req, use_awaitable);
        beast::flat_buffer buf;
        http::response_parser<http::buffer_body> p;
        p.body_limit(boost::none);
        co_await http::async_read_header(*s, buf, p, use_awaitable);
        if (p.get().result_int() != 200)
          co_return; // no stream (405): list changes are not announced
        get_stream_ = s.get();
        co_await read_body(*s, buf, p);
        get_stream_ = nullptr;
      } catch (const std::exception&) {
        get_stream_ = nullptr;
      }
      net::steady_timer pause{ioc_, std::chrono::seconds{1}};
      co_await pause.async_wait(use_awaitable);
    }
  }

  actors::upstream_config cfg_;
  url_parts url_;
  message_handler on_message_;
  close_handler on_closed_;
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread thread_;
  tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle_;
  beast::tcp_stream* get_stream_ = nullptr;
  std::string session_;
  std::string version_;
  bool listening_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> closing_{false};
};

} // namespace

std::unique_ptr<actors::upstream_link> make_http_link(const actors::upstream_config& cfg,
                                                      size_t) {
  return std::make_unique<http_link>(cfg);
}

} // namespace mcpvisor::transports
