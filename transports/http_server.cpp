#include "transports/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/channel.hpp"
#include "actors/gateway.hpp"
#include "actors/log.hpp"
#include "protocol/engine.hpp"
#include "transports/http_reader.hpp"
#include "transports/http_rules.hpp"
#include "transports/listener.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string error_body(const protocol::request_id& id, int code,
                       std::string_view text) {
  return protocol::encode_error(id, code, text);
}

/// Does the Accept header list `type` (or a wildcard covering it)?
bool accepts(std::string_view accept, std::string_view type) {
  auto slash = type.find('/');
  auto family = std::string{type.substr(0, slash)} + "/*";
  size_t start = 0;
  while (start <= accept.size()) {
    auto comma = accept.find(',', start);
    if (comma == std::string_view::npos)
      comma = accept.size();
    auto range = accept.substr(start, comma - start);
    if (auto semi = range.find(';'); semi != std::string_view::npos)
      range = range.substr(0, semi);
    auto r = lower(trim(range));
    if (r == type || r == family || r == "*/*")
      return true;
    start = comma + 1;
  }
  return false;
}

/// What kind of JSON-RPC message our encoders wrote: a result, an error, or
/// neither (a notification or a server-to-client request). Reads only the
/// start: {"jsonrpc":"2.0","id":ID,"result"|"error"|"method"...
std::optional<actors::metrics::outcome> answer_kind(std::string_view json) {
  constexpr std::string_view prefix = R"({"jsonrpc":"2.0","id":)";
  if (json.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  size_t i = prefix.size();
  if (i < json.size() && json[i] == '"') {
    for (++i; i < json.size() && json[i] != '"'; ++i)
      if (json[i] == '\\')
        ++i;
    ++i;
  } else {
    while (i < json.size() && json[i] != ',')
      ++i;
  }
  auto key = json.substr(i, 10);
  if (key.starts_with(R"(,"result")"))
    return actors::metrics::outcome::result;
  if (key.starts_with(R"(,"error")"))
    return actors::metrics::outcome::error;
  return std::nullopt;
}

} // namespace

// -- server internals ---------------------------------------------------------

class connection;

struct http_server::impl {
  impl(actors::gateway& g, http_config c)
    : gw(g), cfg(std::move(c)), ioc(static_cast<int>(cfg.io_threads)),
      acceptor(ioc), origins(cfg.allowed_hosts, cfg.allowed_origins) {
    // nop
  }

  actors::gateway& gw;
  http_config cfg;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  origin_policy origins;
  std::atomic<size_t> open{0};
  std::mutex mtx;
  std::vector<std::weak_ptr<connection>> conns;
  /// Notified (under `mtx`) when the last connection is gone.
  std::condition_variable all_closed;
  std::unique_ptr<net::steady_timer> keepalive_timer;
  std::unique_ptr<accept_loop> acceptor_loop;
  std::atomic<bool> stopping{false};

  void take(tcp::socket socket);
  void tick_keepalive();
};

/// One exchange: the answer to one POST or one GET stream. Handed to the
/// runtime as its channel; every call is posted onto the connection's
/// strand. If it is dropped without an answer (the actor that held it died),
/// it answers itself so that no client waits forever.
class exchange : public actors::channel,
                 public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<connection> conn, protocol::request_id id)
    : conn_(std::move(conn)), id_(std::move(id)) {
    // nop
  }

  ~exchange() override;

  void reply(int status, std::string body,
             std::string_view session_id) override;
  void open_stream(std::string_view prime_id, int retry_ms) override;
  void event(std::string_view id, std::string data) override;
  void close() override;

  bool alive() const override {
    return alive_.load(std::memory_order_acquire);
  }

  /// The client went away or the exchange ended.
  void gone() {
    alive_.store(false, std::memory_order_release);
  }

  const protocol::request_id& id() const noexcept {
    return id_;
  }

  /// Set once anything was sent (a body or the start of a stream).
  std::atomic<bool> answered{false};
  std::atomic<bool> streaming{false};

private:
  template <class F>
  void on_strand(F f);

  std::weak_ptr<connection> conn_;
  protocol::request_id id_;
  std::atomic<bool> alive_{true};
};

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket socket, http_server::impl& srv)
    : stream_(std::move(socket)), srv_(srv) {
    // small SSE events must not wait for Nagle's algorithm
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    srv_.gw.stats().connections_open.fetch_add(1, std::memory_order_relaxed);
  }

  ~connection() {
    if (srv_.open.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> guard{srv_.mtx};
      srv_.all_closed.notify_all();
    }
    srv_.gw.stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read(); });
  }

  auto executor() {
    return stream_.get_executor();
  }

  /// Closes the socket (server shutdown).
  void shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->fail();
    });
  }

  /// The server stops: a request still waiting gets an answer that says
  /// so (a 503, or an error event on its stream), then the connection
  /// closes once that is written; an idle connection closes at once.
  void stop_serving() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->current_ == nullptr)
        self->fail();
      else
        self->answer_and_close(503, "the server is shutting down; retry");
    });
  }

  /// Answers the request under way with `status` and `text` (an error event
  /// if its stream is open already), then closes once that is written.
  void answer_and_close(int status, std::string_view text) {
    if (closed_)
      return;
    keep_alive_ = false;
    close_after_write_ = true;
    auto ex = current_weak_.lock();
    bool answered = current_ == nullptr ? false
                    : ex != nullptr     ? ex->answered.exchange(true)
                                        : current_streaming_;
    auto body = error_body(current_ != nullptr ? current_id_ : protocol::request_id{},
                           protocol::errc::internal_error, text);
    if (!answered) {
      write_response(status, body, {});
    } else if (current_streaming_) {
      if (!current_id_.empty())
        send_event_raw(std::move(body));
      enqueue("0\r\n\r\n");
    }
    finish_exchange();
  }

  // -- called on the strand by exchanges --------------------------------------

  void send_reply(exchange& ex, int status, std::string body,
                  std::string session_id) {
    if (!owns(ex) || ex.answered.exchange(true))
      return;
    write_response(status, body, session_id);
    finish_exchange();
  }

  void send_open(exchange& ex, std::string prime_id, int retry_ms) {
    if (!owns(ex) || ex.answered.exchange(true))
      return;
    ex.streaming = true;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
                       "Transfer-Encoding: chunked\r\n";
    head += keep_alive_ ? "Connection: keep-alive\r\n\r\n"
                        : "Connection: close\r\n\r\n";
    enqueue(std::move(head));
    if (!prime_id.empty()) {
      std::string prime = "id: " + prime_id + "\nretry: "
                          + std::to_string(retry_ms) + "\ndata: \n\n";
      chunk(prime);
    }
  }

  void send_event(exchange& ex, std::string id, std::string data) {
    if (!owns(ex) || !ex.streaming)
      return;
    count_answer(data);
    if (data.empty() && id.empty()) {
      chunk(": keep-alive\n\n");
      return;
    }
    std::string e;
    e.reserve(data.size() + id.size() + 32);
    if (!id.empty()) {
      e += "id: ";
      e += id;
      e += '\n';
    }
    e += "event: message\ndata: ";
    e += data;
    e += "\n\n";
    chunk(e);
  }

  void send_close(exchange& ex) {
    if (!owns(ex))
      return;
    if (!ex.answered.exchange(true)) {
      // closed without an answer: the request gets one anyway
      write_response(503,
                     error_body(ex.id(), protocol::errc::internal_error,
                                "the request could not be served; retry"),
                     {});
    } else if (ex.streaming) {
      enqueue("0\r\n\r\n");
    }
    finish_exchange();
  }

  /// The exchange was dropped without an answer: the actor holding it is
  /// gone (crashed or ended) before it could answer.
  void send_orphaned(const protocol::request_id& id, bool streaming) {
    if (current_ == nullptr || current_id_ != id || closed_)
      return;
    auto body = error_body(id, protocol::errc::internal_error,
                           actors::restarted_text);
    if (streaming) {
      if (!id.empty())
        send_event_raw(std::move(body));
      enqueue("0\r\n\r\n");
    } else {
      write_response(200, body, {});
    }
    finish_exchange();
  }

  /// Sends a keep-alive comment if the connection is streaming.
  void keepalive() {
    if (current_ != nullptr && current_streaming_)
      chunk(": keep-alive\n\n");
  }

  bool owns(const exchange& ex) const {
    return current_ == &ex && !closed_;
  }

private:
  // -- reading ----------------------------------------------------------------

  void read() {
    if (closed_ || reading_)
      return;
    reading_ = true;
    reader_.emplace(read_limits{srv_.cfg.max_header_bytes,
                                srv_.cfg.max_body_bytes});
    stream_.expires_after(srv_.cfg.read_timeout);
    parse_buffered();
  }

  /// Feeds what is buffered to the reader; reads more if it needs more.
  void parse_buffered() {
    auto data = buffer_.data();
    buffer_.consume(reader_->feed(
      {static_cast<const char*>(data.data()), data.size()}));
    if (auto& refused = reader_->refusal()) {
      reading_ = false;
      keep_alive_ = false;
      close_after_write_ = true;
      write_response(refused->status,
                     error_body({}, protocol::errc::invalid_request,
                                refused->text),
                     {});
      next_when_flushed();
      return;
    }
    if (reader_->done()) {
      reading_ = false;
      auto req = reader_->release();
      reader_.reset();
      keep_alive_ = req.keep_alive();
      try {
        handle(req);
      } catch (const std::exception& e) {
        // nothing a request brings may take more than its own connection
        log::error("handling an HTTP request failed; its connection closes",
                   {{"error", e.what()}});
        answer_and_close(500, "internal error while handling the request");
      }
      return;
    }
    // the reader holds less than its header limit unparsed, so the buffer
    // stays within that limit plus one read
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](beast::error_code ec,
                                                       size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(beast::error_code ec, size_t n) {
    if (ec) {
      // end of stream, timeout or reset: nobody is left to answer
      reading_ = false;
      fail();
      return;
    }
    buffer_.commit(n);
    parse_buffered();
  }

  /// While an exchange runs the connection keeps one read open, to notice
  /// a client that goes away (a closed stream cancels a stateless call) and
  /// to buffer a pipelined next request.
  void watch() {
    if (watching_ || closed_ || buffer_.size() > srv_.cfg.max_header_bytes
                                                   + srv_.cfg.max_body_bytes)
      return;
    watching_ = true;
    auto mb = buffer_.prepare(4096);
    stream_.socket().async_read_some(
      mb, net::bind_executor(stream_.get_executor(),
                             [self = shared_from_this()](beast::error_code ec,
                                                         size_t n) {
                               self->on_watch(ec, n);
                             }));
  }

  void on_watch(beast::error_code ec, size_t n) {
    watching_ = false;
    if (!ec) {
      buffer_.commit(n);
      if (current_ != nullptr)
        watch();
      else if (resume_)
        next();
      return;
    }
    if (ec == net::error::operation_aborted && resume_) {
      next();
      return;
    }
    fail();
  }

  // -- handling ---------------------------------------------------------------

  using request = http::request<http::string_body>;

  void handle(request& req);
  void handle_post(request& req);
  void handle_get(request& req);
  void handle_delete(request& req);

  void respond(int status, std::string body,
               std::string_view extra_headers = {}) {
    write_response(status, body, {}, extra_headers);
    next_when_flushed();
  }

  /// Starts an exchange the runtime will answer.
  std::shared_ptr<exchange> begin_exchange(protocol::request_id id) {
    auto ex = std::make_shared<exchange>(shared_from_this(), std::move(id));
    current_ = ex.get();
    current_id_ = ex->id();
    current_streaming_ = false;
    current_weak_ = ex;
    watch();
    return ex;
  }

  // -- writing ----------------------------------------------------------------

  void write_response(int status, std::string_view body,
                      std::string_view session_id,
                      std::string_view extra_headers = {}) {
    if (status == 503)
      count(actors::metrics::outcome::refused);
    else if (status >= 400)
      count(actors::metrics::outcome::rejected);
    else
      count_answer(body);
    std::string out;
    out.reserve(160 + body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason(status);
    out += "\r\n";
    if (!body.empty())
      out += "Content-Type: application/json\r\n";
    if (!session_id.empty()) {
      out += "Mcp-Session-Id: ";
      out += session_id;
      out += "\r\n";
    }
    if (status == 503)
      out += "Retry-After: 1\r\n";
    out += extra_headers;
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += keep_alive_ ? "\r\nConnection: keep-alive\r\n\r\n"
                       : "\r\nConnection: close\r\n\r\n";
    out += body;
    enqueue(std::move(out));
  }

  void send_event_raw(std::string data) {
    count_answer(data);
    std::string e = "event: message\ndata: ";
    e += data;
    e += "\n\n";
    chunk(e);
  }

  void chunk(std::string_view payload) {
    char size[20];
    auto n = std::snprintf(size, sizeof(size), "%zx\r\n", payload.size());
    std::string c;
    c.reserve(payload.size() + 24);
    c.append(size, static_cast<size_t>(n));
    c += payload;
    c += "\r\n";
    enqueue(std::move(c));
  }

  void enqueue(std::string bytes) {
    if (closed_)
      return;
    if (!out_.empty() && queued_ - out_.front().size() > srv_.cfg.max_queued_bytes) {
      // a client that left this much unread behind the write under way,
      // and is sent more, does not read its stream: it is cut off (one
      // answer larger than the limit still goes out; its size is bounded
      // by --max-result-bytes)
      fail();
      return;
    }
    queued_ += bytes.size();
    out_.push_back(std::move(bytes));
    if (!writing_)
      write_next();
  }

  void write_next() {
    if (out_.empty() || closed_) {
      writing_ = false;
      if (flush_then_next_)
        after_flush();
      return;
    }
    // everything queued goes out in one gathered write
    writing_ = true;
    in_flight_.clear();
    for (auto& b : out_)
      in_flight_.push_back(net::buffer(b));
    writes_ = out_.size();
    net::async_write(stream_.socket(), in_flight_,
                     net::bind_executor(stream_.get_executor(),
                                        [self = shared_from_this()](
                                          beast::error_code ec, size_t n) {
                                          self->on_write(ec, n);
                                        }));
  }

  void on_write(beast::error_code ec, size_t n) {
    if (ec) {
      fail();
      return;
    }
    queued_ -= n;
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(writes_));
    write_next();
  }

  // -- metrics ----------------------------------------------------------------

  /// A POSTed request's answer is counted once, with the time since it
  /// arrived: starts when the body is read, and the method is known once
  /// it is decoded.
  void begin_count() {
    counting_ = true;
    count_method_ = actors::metrics::methods.size() - 1;
    count_start_ = std::chrono::steady_clock::now();
    if (srv_.cfg.log_requests) {
      count_session_.clear();
      count_id_.clear();
      count_method_name_.clear();
    }
  }

  /// What a request log line names, once the request is decoded.
  void describe_count(const protocol::message& msg, std::string_view sid) {
    count_method_ = actors::metrics::method_index(msg.method);
    if (srv_.cfg.log_requests) {
      count_session_ = std::string{sid};
      count_id_ = msg.id.to_json();
      count_method_name_ = std::string{msg.method.substr(0, 64)};
    }
  }

  void count(actors::metrics::outcome o) {
    if (!counting_)
      return;
    counting_ = false;
    auto took = std::chrono::steady_clock::now() - count_start_;
    srv_.gw.stats().request(count_method_, o, took);
    if (srv_.cfg.log_requests) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
      log::info("request",
                {{"session", count_session_},
                 {"request", count_id_},
                 {"method", count_method_name_},
                 {"outcome", actors::metrics::name(o)},
                 {"duration_us", std::to_string(us)}});
    }
  }

  void count_answer(std::string_view json) {
    if (counting_)
      if (auto o = answer_kind(json))
        count(*o);
  }

  // -- exchange lifecycle -----------------------------------------------------

  /// A POSTed request counts as work in flight until its exchange ends,
  /// except a subscriptions/listen stream, which stays open by design.
  actors::flight* flight_for_request() {
    if (!counting_
        || actors::metrics::methods[count_method_] == "subscriptions/listen")
      return nullptr;
    return &flight_;
  }

  void leave_flight() {
    flight_ = actors::flight{};
  }

  /// The exchange is over: nothing more is sent for it.
  void end_exchange() {
    leave_flight();
    if (auto ex = current_weak_.lock())
      ex->gone();
    current_ = nullptr;
    current_weak_.reset();
  }

  /// The exchange is over; read the next request once the output is out.
  void finish_exchange() {
    end_exchange();
    next_when_flushed();
  }

  void next_when_flushed() {
    flush_then_next_ = true;
    if (!writing_)
      after_flush();
  }

  void after_flush() {
    flush_then_next_ = false;
    if (reading_ || current_ != nullptr)
      return; // a read is already under way, or a new exchange began
    if (close_after_write_ || !keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (watching_)
        fail();
      else
        linger();
      return;
    }
    if (watching_) {
      resume_ = true;
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
      return;
    }
    next();
  }

  void next() {
    resume_ = false;
    read();
  }

  /// After the last answer: reads and drops what the client still sends
  /// (at most 1 MiB, 2 s) before closing, so that closing with unread
  /// input does not reset the connection before the client read the
  /// answer.
  void linger(size_t dropped = 0) {
    if (dropped == 0)
      stream_.expires_after(std::chrono::seconds{2});
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this(), dropped](
                              beast::error_code ec, size_t n) {
                              if (ec || dropped + n > 1024 * 1024) {
                                self->fail();
                                return;
                              }
                              self->linger(dropped + n);
                            });
  }

  void fail() {
    if (closed_)
      return;
    closed_ = true;
    leave_flight();
    if (auto ex = current_weak_.lock())
      ex->gone();
    current_ = nullptr;
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  http_server::impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<request_reader> reader_;
  std::deque<std::string> out_;
  std::vector<net::const_buffer> in_flight_;
  size_t writes_ = 0;
  size_t queued_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool watching_ = false;
  bool resume_ = false;
  bool flush_then_next_ = false;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool counting_ = false;
  std::string count_session_;
  std::string count_id_;
  std::string count_method_name_;
  actors::flight flight_;
  size_t count_method_ = 0;
  std::chrono::steady_clock::time_point count_start_;
  const exchange* current_ = nullptr;
  std::weak_ptr<exchange> current_weak_;
  protocol::request_id current_id_;
  bool current_streaming_ = false;

  friend class exchange;
};

// -- exchange -----------------------------------------------------------------

template <class F>
void exchange::on_strand(F f) {
  if (auto c = conn_.lock())
    net::post(c->executor(),
              [c, self = shared_from_this(), f = std::move(f)]() mutable {
                f(*c, *self);
              });
}

exchange::~exchange() {
  if (!alive())
    return; // ended properly, or the client is gone
  // dropped while the client still waits (the actor that held it died):
  // answer instead of leaving it waiting
  if (auto c = conn_.lock()) {
    net::post(c->executor(), [c, id = id_, s = streaming.load()] {
      c->send_orphaned(id, s);
    });
  }
}

void exchange::reply(int status, std::string body,
                     std::string_view session_id) {
  on_strand([status, body = std::move(body), sid = std::string{session_id}](
              connection& c, exchange& ex) mutable {
    c.send_reply(ex, status, std::move(body), std::move(sid));
  });
}

void exchange::open_stream(std::string_view prime_id, int retry_ms) {
  on_strand([prime = std::string{prime_id}, retry_ms](connection& c,
                                                      exchange& ex) mutable {
    c.current_streaming_ = true;
    c.send_open(ex, std::move(prime), retry_ms);
  });
}

void exchange::event(std::string_view id, std::string data) {
  on_strand([id = std::string{id}, data = std::move(data)](
              connection& c, exchange& ex) mutable {
    c.send_event(ex, std::move(id), std::move(data));
  });
}

void exchange::close() {
  on_strand([](connection& c, exchange& ex) { c.send_close(ex); });
}

// -- request handling ---------------------------------------------------------

void connection::handle(request& req) {
  counting_ = false; // handle_post counts POSTed requests
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  if (path != srv_.cfg.path) {
    respond(404, error_body({}, protocol::errc::invalid_request,
                            "not found: the MCP endpoint is " + srv_.cfg.path));
    return;
  }
  auto host = req[http::field::host];
  auto origin = req[http::field::origin];
  if (!srv_.origins.host_ok({host.data(), host.size()})
      || (!origin.empty()
          && !srv_.origins.origin_ok({origin.data(), origin.size()}))) {
    respond(403, error_body({}, protocol::errc::invalid_request,
                            "forbidden: Host or Origin is not allowed"));
    return;
  }
  switch (req.method()) {
    case http::verb::post:
      handle_post(req);
      return;
    case http::verb::get:
      handle_get(req);
      return;
    case http::verb::delete_:
      handle_delete(req);
      return;
    default:
      respond(405, error_body({}, protocol::errc::invalid_request,
                              "method not allowed: use POST, GET or DELETE"),
              "Allow: GET, POST, DELETE\r\n");
  }
}

namespace {

std::string_view field(const http::request<http::string_body>& req,
                       std::string_view name, bool* present = nullptr) {
  auto it = req.find(beast::string_view{name.data(), name.size()});
  if (present != nullptr)
    *present = it != req.end();
  if (it == req.end())
    return {};
  return trim({it->value().data(), it->value().size()});
}

bool json_content(std::string_view ct) {
  auto semi = ct.find(';');
  return lower(trim(ct.substr(0, semi))) == "application/json";
}

} // namespace

void connection::handle_post(request& req) {
  begin_count();
  auto accept = field(req, "accept");
  if (!accepts(accept, "application/json")
      || !accepts(accept, "text/event-stream")) {
    respond(406, error_body({}, protocol::errc::invalid_request,
                            "not acceptable: Accept must list "
                            "application/json and text/event-stream"));
    return;
  }
  if (!json_content(field(req, "content-type"))) {
    respond(415, error_body({}, protocol::errc::invalid_request,
                            "unsupported media type: Content-Type must be "
                            "application/json"));
    return;
  }
  auto msg = std::make_unique<protocol::message>();
  if (auto err = protocol::decode(std::move(req.body()), *msg,
                                  protocol::decode_limits{srv_.cfg.max_body_bytes})) {
    auto o = protocol::decode_failure(*err);
    respond(400, std::move(o.json));
    return;
  }
  auto sid = field(req, "mcp-session-id");
  auto pv = field(req, "mcp-protocol-version");
  bool is_request = msg->kind == protocol::message_kind::request;
  auto& gw = srv_.gw;
  if (!is_request) {
    counting_ = false; // notifications and responses are not requests
  } else {
    describe_count(*msg, sid);
    if (gw.overloaded()) {
      // the andon cord is pulled: new work is refused at once, while
      // notifications and responses (which finish accepted work) pass
      respond(503, error_body(msg->id, protocol::errc::internal_error,
                              actors::overloaded_text));
      return;
    }
  }
  if (sid.empty()) {
    bool meta_version = protocol::find_member(msg->meta(),
                                              "io.modelcontextprotocol/protocolVersion")
                        != nullptr;
    if (protocol::is_stateless_request(pv, meta_version)) {
      if (msg->kind == protocol::message_kind::notification) {
        respond(202, {});
        return;
      }
      if (!is_request) {
        respond(400, error_body(msg->id, protocol::errc::invalid_request,
                                "a client sends requests, not responses"));
        return;
      }
      protocol::mcp_headers h;
      h.protocol_version = pv;
      h.method = field(req, "mcp-method", &h.has_method);
      h.name = field(req, "mcp-name", &h.has_name);
      for (auto& f : req) {
        auto name = lower({f.name_string().data(), f.name_string().size()});
        if (name.rfind("mcp-param-", 0) == 0)
          h.params.emplace_back(
            std::string_view{f.name_string().data() + 10,
                             f.name_string().size() - 10},
            trim({f.value().data(), f.value().size()}));
      }
      auto id = msg->id;
      auto ex = begin_exchange(id);
      if (gw.stateless(std::move(msg), &h, ex, false, flight_for_request())
          != actors::gateway::result::ok) {
        ex->answered = true;
        end_exchange();
        respond(503, error_body(id, protocol::errc::internal_error,
                                "no stateless worker is available; retry"));
      }
      return;
    }
    if (!is_request || msg->method != "initialize") {
      respond(400, error_body(msg->id, protocol::errc::invalid_request,
                              "Bad Request: Mcp-Session-Id header is required "
                              "(send initialize first)"));
      return;
    }
    if (!pv.empty() && !protocol::parse_revision(pv)) {
      respond(400, error_body(msg->id, protocol::errc::invalid_request,
                              "unsupported MCP-Protocol-Version"));
      return;
    }
    auto id = msg->id;
    auto ex = begin_exchange(id);
    auto res = gw.initialize(std::move(msg), ex, false, nullptr,
                             flight_for_request());
    if (res != actors::gateway::result::ok) {
      ex->answered = true;
      end_exchange();
      respond(503, error_body(id, protocol::errc::internal_error,
                              res == actors::gateway::result::full
                                ? "too many sessions; retry later"
                                : "the server cannot start a session now; "
                                  "retry"));
    }
    return;
  }
  // a session request: the revision header, if any, must be a session one
  if (!pv.empty()) {
    auto r = protocol::parse_revision(pv);
    if (!r || protocol::is_stateless(*r)) {
      respond(400, error_body(msg->id, protocol::errc::invalid_request,
                              "Bad Request: unsupported MCP-Protocol-Version "
                              "for a session"));
      return;
    }
  }
  if (!is_request) {
    auto res = gw.post(sid, std::move(msg), nullptr);
    if (res == actors::gateway::result::unknown_session)
      respond(404, error_body({}, protocol::errc::invalid_request,
                              "session not found"));
    else
      respond(202, {});
    return;
  }
  auto id = msg->id;
  auto ex = begin_exchange(id);
  auto res = gw.post(sid, std::move(msg), ex, flight_for_request());
  if (res != actors::gateway::result::ok) {
    ex->answered = true;
    end_exchange();
    respond(404, error_body(id, protocol::errc::invalid_request,
                            "session not found"));
  }
}

void connection::handle_get(request& req) {
  auto sid = field(req, "mcp-session-id");
  auto pv = field(req, "mcp-protocol-version");
  if (sid.empty()) {
    auto r = protocol::parse_revision(pv);
    if (!pv.empty() && (!r || protocol::is_stateless(*r))) {
      respond(405, error_body({}, protocol::errc::invalid_request,
                              "method not allowed: 2026-07-28 has no GET "
                              "stream; use subscriptions/listen"),
              "Allow: POST\r\n");
      return;
    }
    respond(400, error_body({}, protocol::errc::invalid_request,
                            "Bad Request: Mcp-Session-Id header is required"));
    return;
  }
  if (!accepts(field(req, "accept"), "text/event-stream")) {
    respond(406, error_body({}, protocol::errc::invalid_request,
                            "not acceptable: Accept must list "
                            "text/event-stream"));
    return;
  }
  auto ex = begin_exchange({});
  auto res = srv_.gw.get(sid, std::string{field(req, "last-event-id")}, ex);
  if (res != actors::gateway::result::ok) {
    ex->answered = true;
    end_exchange();
    respond(404, error_body({}, protocol::errc::invalid_request,
                            "session not found"));
  }
}

void connection::handle_delete(request& req) {
  auto sid = field(req, "mcp-session-id");
  if (sid.empty()) {
    auto pv = field(req, "mcp-protocol-version");
    auto r = protocol::parse_revision(pv);
    if (!pv.empty() && (!r || protocol::is_stateless(*r))) {
      respond(405, error_body({}, protocol::errc::invalid_request,
                              "method not allowed: 2026-07-28 has no "
                              "sessions to delete"),
              "Allow: POST\r\n");
      return;
    }
    respond(400, error_body({}, protocol::errc::invalid_request,
                            "Bad Request: Mcp-Session-Id header is required"));
    return;
  }
  if (srv_.gw.remove(sid) != actors::gateway::result::ok) {
    respond(404, error_body({}, protocol::errc::invalid_request,
                            "session not found"));
    return;
  }
  respond(204, {});
}

// -- accept loop --------------------------------------------------------------

void http_server::impl::take(tcp::socket socket) {
  auto n = open.fetch_add(1, std::memory_order_relaxed) + 1;
  auto c = std::make_shared<connection>(std::move(socket), *this);
  if (n > cfg.max_connections || gw.overloaded()) {
    // over the limit, or the andon cord is pulled: close at once and keep
    // accepting
    gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
    c->shutdown();
    return;
  }
  gw.stats().connections_accepted.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (conns.size() > 2 * open.load() + 64)
      conns.erase(std::remove_if(conns.begin(), conns.end(),
                                 [](auto& w) { return w.expired(); }),
                  conns.end());
    conns.push_back(c);
  }
  c->start();
}

void http_server::impl::tick_keepalive() {
  if (cfg.keepalive.count() == 0 || stopping.load())
    return;
  keepalive_timer->expires_after(cfg.keepalive);
  keepalive_timer->async_wait([this](beast::error_code ec) {
    if (ec || stopping.load())
      return;
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& w : conns)
        if (auto c = w.lock())
          live.push_back(std::move(c));
    }
    for (auto& c : live)
      net::post(c->executor(), [c] { c->keepalive(); });
    tick_keepalive();
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
  s.keepalive_timer = std::make_unique<net::steady_timer>(s.ioc);
  s.acceptor_loop = std::make_unique<accept_loop>(
    s.ioc, s.acceptor, [&s](tcp::socket sock) { s.take(std::move(sock)); },
    [&s](const std::string& error) {
      s.gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
      log::warn("accept failed; retrying in 50 ms", {{"error", error}});
    });
  s.acceptor_loop->start();
  s.tick_keepalive();
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
  if (s.acceptor_loop)
    s.acceptor_loop->stop();
  net::post(s.ioc, [&s] {
    if (s.keepalive_timer)
      s.keepalive_timer->cancel();
  });
  std::vector<std::shared_ptr<connection>> live;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto& w : s.conns)
      if (auto c = w.lock())
        live.push_back(std::move(c));
    s.conns.clear();
  }
  for (auto& c : live)
    c->stop_serving();
  live.clear();
  {
    // requests still waiting are answered and written out; a client that
    // does not read its answer is not waited for long
    std::unique_lock<std::mutex> lock{s.mtx};
    s.all_closed.wait_for(lock, std::chrono::seconds{2},
                          [&s] { return s.open.load() == 0; });
  }
  s.ioc.stop();
  for (auto& t : s.threads)
    if (t.joinable())
      t.join();
  s.threads.clear();
}

size_t http_server::connections() const {
  return impl_->open.load();
}

} // namespace mcpvisor::transports
