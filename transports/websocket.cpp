// MCP over WebSocket: `GET /mcp` with `Upgrade: websocket` and the
// subprotocol `mcp` (what the official SDK 1.x WebSocketClientTransport
// sends) turns the connection into one 2025-11-25 session: each text frame
// is one JSON-RPC message, any number may be in flight, and every answer
// and notification of the session is a text frame back. The rules of a
// message are those of stdio (protocol::route_stdio); the runtime sees a
// single-channel session, as for stdio. Binary frames close the connection
// with 1003, messages above the body limit with 1009 (Beast), and a client
// that does not read its frames stops being read (backpressure) until they
// are written.

#include "transports/websocket.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <mutex>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "actors/log.hpp"
#include "transports/auth.hpp"
#include "transports/coalescing_stream.hpp"
#include "transports/http_connection.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

namespace {

/// The session's answers, written as text frames by the connection's
/// strand. Answers given while the strand has not taken the last ones yet
/// wait here together: one wake-up for all of them.
class ws_channel : public actors::channel {
public:
  ws_channel(std::function<void()> wake, std::function<void()> close)
    : wake_(std::move(wake)), close_(std::move(close)) {
    // nop
  }

  void send(actors::reply r) override {
    write(std::move(r.json));
  }
  void open_stream(std::string_view, int) override {
    // nop: every message is a frame anyway
  }
  void event(std::string_view, protocol::message_kind, std::string json) override {
    write(std::move(json));
  }
  /// The session ended: the connection closes normally once its frames
  /// are out.
  void close() override {
    if (open_.exchange(false))
      close_();
  }
  bool alive() const override {
    return open_.load(std::memory_order_acquire);
  }

  void gone() noexcept {
    open_.store(false, std::memory_order_release);
  }

  /// The answers given since the last call, in order.
  std::vector<std::string> take() {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> guard{mtx_};
    out.swap(pending_);
    return out;
  }

private:
  void write(std::string json) {
    if (json.empty() || !open_.load(std::memory_order_acquire))
      return;
    bool first;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      first = pending_.empty();
      pending_.push_back(std::move(json));
    }
    if (first)
      wake_();
  }

  std::function<void()> wake_;
  std::function<void()> close_;
  std::mutex mtx_;
  std::vector<std::string> pending_;
  std::atomic<bool> open_{true};
};

template <class Next>
class ws_session : public std::enable_shared_from_this<ws_session<Next>> {
public:
  ws_session(Next next, std::shared_ptr<connection> owner, protocol::principal_ptr who,
             int64_t expires)
    : ws_(coalescing_stream<Next>{std::move(next)}), owner_(std::move(owner)),
      srv_(owner_->server()),
      who_(std::move(who)), expires_(expires) {
    // nop
  }

  void start(request_reader::request req) {
    beast::get_lowest_layer(ws_).expires_never(); // the WebSocket's own timeouts rule
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::seconds{30};
    t.idle_timeout = std::chrono::seconds{60};
    t.keep_alive_pings = true; // a ping after 30 s of silence; no pong: closed
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::sec_websocket_protocol, "mcp");
      res.set(beast::http::field::server, "mcpvisor");
    }));
    ws_.read_message_max(srv_.cfg.max_body_bytes);
    ws_.auto_fragment(false);
    auto self = this->shared_from_this();
    ws_.next_layer().set_owner(self, [weak = std::weak_ptr<ws_session>(self)] {
      if (auto s = weak.lock())
        s->resume();
    });
    ch_ = std::make_shared<ws_channel>(
      [weak = std::weak_ptr<ws_session>(self)] {
        if (auto s = weak.lock())
          net::post(s->executor(), [s] {
            for (auto& json : s->ch_->take())
              s->enqueue(std::move(json));
          });
      },
      [weak = std::weak_ptr<ws_session>(self)] {
        if (auto s = weak.lock())
          net::post(s->executor(), [s] { s->finish(); });
      });
    owner_->on_stop([weak = std::weak_ptr<ws_session>(self)](bool now) {
      if (auto s = weak.lock()) {
        if (now)
          s->end();
        else
          s->close_with(websocket::close_code::going_away, "the server is stopping");
      }
    });
    ws_.async_accept(req, [self](beast::error_code ec) {
      if (ec) {
        self->end();
        return;
      }
      self->watch_expiry();
      self->read();
    });
  }

private:
  net::any_io_executor executor() {
    return beast::get_lowest_layer(ws_).get_executor();
  }

  /// A connection opened with a token closes when the token expires
  /// (1008): the client reconnects with a fresh one.
  void watch_expiry() {
    if (who_ == nullptr)
      return;
    // capped (year 2096) so that the clock's nanoseconds cannot overflow
    auto at = std::chrono::seconds{std::min<int64_t>(expires_, 4'000'000'000)};
    expiry_.emplace(executor());
    expiry_->expires_at(std::chrono::system_clock::time_point{at});
    expiry_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->close_with(websocket::close_code::policy_error, "the access token expired");
    });
  }

  void read() {
    if (closing_)
      return;
    if (backed_up()) {
      paused_ = true; // read on once the client took its frames
      return;
    }
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->on_read(ec);
    });
  }

  /// Frames queued here or gathered beneath, not yet taken by the
  /// client, past the limit: the client is not read meanwhile.
  bool backed_up() const {
    return queued_ + ws_.next_layer().backlog() > srv_.cfg.max_queued_bytes;
  }

  /// Reads again once the client took enough of its frames.
  void resume() {
    if (paused_ && !backed_up()) {
      paused_ = false;
      read();
    }
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      end(); // closed, reset, timed out, or a message over the limit (1009)
      return;
    }
    if (!ws_.got_text()) {
      in_.clear();
      close_with(websocket::close_code::unknown_data, "binary frames are not MCP messages");
      return;
    }
    auto text = beast::buffers_to_string(in_.data());
    in_.clear();
    handle(std::move(text));
    read();
  }

  /// One message, by the rules of a single-session transport.
  void handle(std::string text) {
    auto& gw = srv_.gw;
    auto msg = std::make_unique<protocol::message>();
    auto r = protocol::route_stdio(std::move(text), *msg, !session_.empty(), gw.overloaded(),
                                   srv_.endpoint.limits);
    if (r.kind == protocol::route_kind::answer) {
      if (r.status != 0)
        enqueue(std::move(r.body));
      return;
    }
    if (who_ != nullptr) {
      auto scope = srv_.cfg.auth->authorize(*msg, *who_);
      if (scope.status != 0) {
        if (r.request)
          enqueue(std::move(scope.body));
        return;
      }
      msg->who = who_;
    }
    if (r.kind == protocol::route_kind::session)
      r.session_id = session_;
    auto id = msg->id;
    std::string started;
    auto res = gw.submit(r, std::move(msg), {ch_, true, nullptr, &started});
    if (res == actors::gateway::result::ok) {
      if (r.kind == protocol::route_kind::initialize)
        session_ = std::move(started);
      return;
    }
    if (r.kind == protocol::route_kind::session)
      session_.clear(); // it ended; a new initialize may start another
    if (r.request)
      enqueue(actors::gateway::refusal(res, id).body);
  }

  void enqueue(std::string json) {
    if (closing_)
      return;
    queued_ += json.size();
    out_.push_back(std::move(json));
    if (!writing_)
      write_next();
  }

  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      if (close_after_)
        close_with(websocket::close_code::normal, "the session ended");
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(out_.front()),
                    [self = this->shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) {
                        self->end();
                        return;
                      }
                      self->queued_ -= self->out_.front().size();
                      self->out_.pop_front();
                      self->resume();
                      self->write_next();
                    });
  }

  /// The session ended (expired, or ended by the server): close once the
  /// frames queued are out.
  void finish() {
    session_.clear();
    close_after_ = true;
    if (!writing_)
      close_with(websocket::close_code::normal, "the session ended");
  }

  void close_with(websocket::close_code code, const char* why) {
    if (closing_)
      return;
    closing_ = true;
    ws_.async_close(websocket::close_reason{code, why},
                    [self = this->shared_from_this()](beast::error_code) { self->end(); });
  }

  /// The connection is over: its session ends (as at the end of stdin).
  void end() {
    closing_ = true;
    ch_->gone();
    if (!session_.empty()) {
      protocol::route r;
      r.kind = protocol::route_kind::end_session;
      r.session_id = session_;
      (void) srv_.gw.submit(r, nullptr, {});
      session_.clear();
    }
    if (expiry_)
      expiry_->cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  websocket::stream<coalescing_stream<Next>> ws_;
  /// Keeps the HTTP connection's counts (open connections) while it lives.
  std::shared_ptr<connection> owner_;
  http_shared& srv_;
  std::shared_ptr<ws_channel> ch_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  size_t queued_ = 0;
  bool writing_ = false;
  bool paused_ = false;
  bool closing_ = false;
  bool close_after_ = false;
  std::string session_;
  protocol::principal_ptr who_;
  int64_t expires_ = 0;
  std::optional<net::system_timer> expiry_;
};

} // namespace

void serve_websocket(server_stream stream, std::shared_ptr<connection> owner,
                     request_reader::request req, protocol::principal_ptr who,
                     int64_t expires) {
  if (auto* tls = std::get_if<tls_stream>(&stream))
    std::make_shared<ws_session<tls_stream>>(std::move(*tls), std::move(owner), std::move(who),
                                             expires)
      ->start(std::move(req));
  else
    std::make_shared<ws_session<beast::tcp_stream>>(
      std::move(std::get<beast::tcp_stream>(stream)), std::move(owner), std::move(who), expires)
      ->start(std::move(req));
}

} // namespace mcpvisor::transports
