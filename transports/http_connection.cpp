#include "transports/http_connection.hpp"

#include "transports/auth.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "actors/log.hpp"
#include "transports/http_wire.hpp"
#include "transports/websocket.hpp"

namespace mcpvisor::transports {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

http_shared::http_shared(actors::gateway& g, const http_config& c)
  : gw(g), cfg(c) {
  endpoint.path = c.path;
  endpoint.origins = protocol::origin_policy{c.allowed_hosts, c.allowed_origins};
  endpoint.limits.max_message_bytes = c.max_body_bytes;
}

namespace {

/// The longest a TLS client may take to say hello and finish its handshake.
constexpr auto handshake_timeout = std::chrono::seconds{10};

} // namespace

connection::connection(tcp::socket socket, http_shared& srv,
                       std::shared_ptr<net::ssl::context> tls)
  : tls_(std::move(tls)), stream_(make_server_stream(std::move(socket), tls_.get())),
    srv_(srv), read_timer_(tcp().get_executor()) {
  // small SSE events must not wait for Nagle's algorithm
  beast::error_code ignored;
  tcp().socket().set_option(tcp::no_delay(true), ignored);
  srv_.gw.stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
  srv_.gw.stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
  // nothing accepts any more once stopping, so this is the last connection
  if (srv_.open.fetch_sub(1, std::memory_order_acq_rel) == 1
      && srv_.stopping.load(std::memory_order_acquire))
    srv_.all_closed.release();
}

void connection::start() {
  net::dispatch(executor(), [self = shared_from_this()] {
    if (auto* s = std::get_if<tls_stream>(&self->stream_))
      start_tls(*s, self->buffer_, handshake_timeout,
                [self](tls_start how) { self->started_tls(how); });
    else
      self->read();
  });
}

net::any_io_executor connection::executor() {
  return tcp().get_executor();
}

// -- TLS ------------------------------------------------------------------------

void connection::started_tls(tls_start how) {
  switch (how) {
    case tls_start::ok:
      tcp().expires_never(); // the handshake's deadline; reads have their own
      read();
      return;
    case tls_start::failed:
      fail();
      return;
    case tls_start::plain_http:
      // answered in plain text on the TCP layer, then closed
      srv_.gw.stats().connections_refused.fetch_add(1, std::memory_order_relaxed);
      auto body = protocol::encode_error({}, protocol::errc::invalid_request,
                                         "this port speaks HTTPS: use an https:// URL");
      auto bytes = std::make_shared<std::string>(
        wire::response(400, "application/json", body, false, {}));
      phase_ = phase::flushing;
      net::async_write(tcp().socket(), net::buffer(*bytes),
                       [self = shared_from_this(), bytes](beast::error_code, size_t) {
                         beast::error_code ignored;
                         self->tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
                         self->linger();
                       });
      return;
  }
}

void connection::shutdown() {
  net::post(executor(), [self = shared_from_this()] {
    if (self->on_stop_)
      self->on_stop_(true);
    self->fail();
  });
}

void connection::stop_serving() {
  net::post(executor(), [self = shared_from_this()] {
    if (self->on_stop_)
      self->on_stop_(false);
    else if (self->in_exchange())
      self->answer_and_close(503, actors::shutting_down_text);
    else if (self->phase_ != phase::flushing)
      self->fail();
    else
      self->keep_alive_ = false; // the answer under way is the last
  });
}

void connection::tick() {
  if (!busy_.load(std::memory_order_relaxed))
    return;
  net::post(executor(), [self = shared_from_this()] {
    if (!self->in_exchange())
      return;
    if (self->current_weak_.expired()) {
      log::error("an exchange was dropped without an answer; answering it",
                 {{"request", self->current_id_.to_json()}});
      self->answer_and_close(200, actors::restarted_text);
      return;
    }
    if (self->phase_ == phase::streaming && self->srv_.cfg.keepalive.count() > 0)
      self->enqueue(wire::keepalive_chunk());
  });
}

// -- reading ------------------------------------------------------------------

void connection::read() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::reading;
  resume_ = false;
  reader_.emplace(read_limits{srv_.cfg.max_header_bytes, srv_.cfg.max_body_bytes});
  read_deadline_ = std::chrono::steady_clock::now() + srv_.cfg.read_timeout;
  time_reading();
  parse_buffered();
}

void connection::time_reading() {
  if (timing_)
    return;
  timing_ = true;
  read_timer_.expires_at(read_deadline_);
  read_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (self == nullptr)
      return;
    self->timing_ = false;
    if (ec || self->phase_ != phase::reading || self->resume_)
      return; // the next read arms it again, with its own deadline
    if (std::chrono::steady_clock::now() < self->read_deadline_)
      self->time_reading();
    else
      self->fail(); // too slow to send its request, or idle too long
  });
}

void connection::parse_buffered() {
  auto data = buffer_.data();
  buffer_.consume(reader_->feed({static_cast<const char*>(data.data()), data.size()}));
  if (auto& refused = reader_->refusal()) {
    keep_alive_ = false;
    write_response(refused->status,
                   protocol::encode_error({}, protocol::errc::invalid_request,
                                          refused->text));
    finish();
    return;
  }
  if (reader_->done()) {
    auto req = reader_->release();
    reader_.reset();
    handle(req);
    return;
  }
  // the reader holds less than its header limit unparsed, so the buffer
  // stays within that limit plus one read
  read_some(16 * 1024, [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->on_read(ec, n);
  });
}

/// Reads through TLS, or on the socket itself (no per-read timer: the
/// read deadline is the connection's own, see time_reading).
template <class Handler>
void connection::read_some(size_t n, Handler&& done) {
  if (auto* s = std::get_if<tls_stream>(&stream_))
    s->async_read_some(buffer_.prepare(n), std::forward<Handler>(done));
  else
    tcp().socket().async_read_some(buffer_.prepare(n), std::forward<Handler>(done));
}

void connection::on_read(beast::error_code ec, size_t n) {
  if (ec) {
    // end of stream, timeout or reset: nobody is left to answer
    fail();
    return;
  }
  buffer_.commit(n);
  parse_buffered();
}

void connection::handle(request_reader::request& req) {
  keep_alive_ = req.keep_alive();
  counting_ = false;
  try {
    serve_request(*this, req);
  } catch (const std::exception& e) {
    // nothing a request brings may take more than its own connection
    log::error("handling an HTTP request failed; its connection closes",
               {{"error", e.what()}});
    answer_and_close(500, "internal error while handling the request");
  }
}

/// While an exchange runs the connection keeps one read open, to notice a
/// client that goes away (a closed stream cancels a stateless call) and to
/// buffer a pipelined next request.
void connection::watch() {
  if (watching_ || phase_ == phase::closed
      || buffer_.size() > srv_.cfg.max_header_bytes + srv_.cfg.max_body_bytes)
    return;
  watching_ = true;
  auto done = net::bind_executor(executor(), [self = shared_from_this()](beast::error_code ec,
                                                                        size_t n) {
    self->on_watch(ec, n);
  });
  // no timeout while an answer is under way (an SSE stream may last)
  read_some(4096, std::move(done));
}

/// The watch starts once the runtime had its turn to answer at once: the
/// session actor's turn on this thread, then the answer's. A quick answer
/// then costs no read that finds nothing (one system call in three).
void connection::watch_soon() {
  net::post(executor(), [self = shared_from_this()] {
    net::post(self->executor(), [self] {
      if (self->in_exchange())
        self->watch();
    });
  });
}

void connection::on_watch(beast::error_code ec, size_t n) {
  watching_ = false;
  if (!ec) {
    buffer_.commit(n);
    if (in_exchange())
      watch();
    else if (resume_)
      read();
    return;
  }
  if (ec == net::error::operation_aborted && resume_) {
    resume_ = false;
    read();
    return;
  }
  fail();
}

// -- writing ------------------------------------------------------------------

void connection::write_response(int status, std::string_view body,
                                std::string_view session_id,
                                std::string_view allow, std::string_view challenge) {
  enqueue(wire::response(status, body.empty() ? std::string_view{} : "application/json",
                         body, keep_alive_,
                         {{"Mcp-Session-Id", session_id}, {"Allow", allow},
                          {"WWW-Authenticate", challenge}}));
}

void connection::enqueue(std::string bytes) {
  if (phase_ == phase::closed)
    return;
  if (!out_.empty() && queued_ - out_.front().size() > srv_.cfg.max_queued_bytes) {
    // a client that left this much unread behind the write under way, and
    // is sent more, does not read its stream: it is cut off (one answer
    // larger than the limit still goes out; its size is bounded by
    // --max-result-bytes)
    fail();
    return;
  }
  queued_ += bytes.size();
  out_.push_back(std::move(bytes));
  if (!writing_ && !holding_)
    write_next();
}

void connection::write_next() {
  if (out_.empty() || phase_ == phase::closed) {
    writing_ = false;
    if (phase_ == phase::flushing)
      after_flush();
    return;
  }
  // everything queued goes out in one gathered write
  writing_ = true;
  in_flight_.clear();
  for (auto& b : out_)
    in_flight_.push_back(net::buffer(b));
  writes_ = out_.size();
  auto done = net::bind_executor(executor(), [self = shared_from_this()](beast::error_code ec,
                                                                        size_t n) {
    self->on_write(ec, n);
  });
  if (auto* s = std::get_if<tls_stream>(&stream_))
    net::async_write(*s, in_flight_, std::move(done));
  else
    net::async_write(tcp().socket(), in_flight_, std::move(done));
}

void connection::on_write(beast::error_code ec, size_t n) {
  if (ec) {
    fail();
    return;
  }
  queued_ -= n;
  out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(writes_));
  write_next();
}

// -- the endpoint's side --------------------------------------------------------

void connection::respond(int status, std::string body, std::string_view allow,
                         std::string_view challenge) {
  // counted before the write: a client may read the answer (and ask the
  // metrics) before a write's handler runs
  if (status >= 400)
    count_reply(protocol::message_kind::error, status);
  write_response(status, body, {}, allow, challenge);
  finish();
}

void connection::upgrade(request_reader::request req, protocol::principal_ptr who,
                         int64_t expires) {
  phase_ = phase::closed;
  tcp().expires_never();
  serve_websocket(std::move(stream_), shared_from_this(), std::move(req), std::move(who),
                  expires);
}

std::shared_ptr<exchange> connection::begin_exchange(protocol::request_id id) {
  auto ex = std::make_shared<exchange>(shared_from_this(), std::move(id));
  phase_ = phase::waiting;
  busy_.store(true, std::memory_order_relaxed);
  current_ = ex.get();
  current_id_ = ex->id();
  current_weak_ = ex;
  watch_soon();
  return ex;
}

void connection::refuse(exchange& ex, protocol::route r) {
  ex.answered = true;
  end_exchange();
  respond(r.status, std::move(r.body), r.allow);
}

// -- the exchange's side ----------------------------------------------------------

bool connection::owns(const exchange& ex) const noexcept {
  return current_ == &ex && in_exchange();
}

void connection::send_reply(exchange& ex, actors::reply r) {
  if (!owns(ex) || ex.answered)
    return;
  ex.answered = true;
  count_reply(r.kind, r.status);
  if (!r.session_id.empty() && ex.who != nullptr && srv_.cfg.auth != nullptr)
    r.session_id = srv_.cfg.auth->bind(r.session_id, *ex.who);
  write_response(r.status, r.json, r.session_id);
  end_exchange();
  finish();
}

void connection::send_open(exchange& ex, std::string prime_id, int retry_ms) {
  if (!owns(ex) || ex.answered)
    return;
  ex.answered = true;
  phase_ = phase::streaming;
  // the head waits for what the runtime sends right behind it (a quick
  // tool's answer), so that both go out in one write
  holding_ = true;
  net::post(executor(), [self = shared_from_this()] {
    self->holding_ = false;
    if (!self->writing_)
      self->write_next();
  });
  enqueue(wire::event_stream_head(keep_alive_));
  if (!prime_id.empty())
    enqueue(wire::prime_chunk(prime_id, retry_ms));
}

void connection::send_event(exchange& ex, std::string id, protocol::message_kind kind,
                            std::string data) {
  if (!owns(ex) || phase_ != phase::streaming)
    return;
  if (data.empty() && id.empty()) {
    enqueue(wire::keepalive_chunk());
    return;
  }
  count_reply(kind, 200);
  enqueue(wire::event_chunk(id, data));
}

void connection::send_named(exchange& ex, std::string name, std::string data) {
  if (owns(ex) && phase_ == phase::streaming)
    enqueue(wire::named_event_chunk(name, data));
}

void connection::send_close(exchange& ex) {
  if (!owns(ex))
    return;
  if (!ex.answered) {
    // closed without an answer: the request gets one anyway
    ex.answered = true;
    count(actors::metrics::outcome::refused);
    write_response(503, protocol::encode_error(ex.id(), protocol::errc::internal_error,
                                               "the request could not be served; retry"));
  } else {
    enqueue(std::string{wire::last_chunk});
  }
  end_exchange();
  finish();
}

/// Answers the request under way with `status` and `text` (an error event
/// if its stream is open already), then closes once that is written.
void connection::answer_and_close(int status, std::string_view text) {
  if (phase_ == phase::closed)
    return;
  keep_alive_ = false;
  auto id = in_exchange() ? current_id_ : protocol::request_id{};
  auto body = protocol::encode_error(id, protocol::errc::internal_error, text);
  auto ex = current_weak_.lock();
  count_reply(protocol::message_kind::error, status);
  if (phase_ == phase::streaming) {
    if (!id.empty())
      enqueue(wire::event_chunk({}, body));
    enqueue(std::string{wire::last_chunk});
  } else if (phase_ != phase::flushing) {
    write_response(status, body);
  }
  if (ex != nullptr)
    ex->answered = true;
  end_exchange();
  finish();
}

void connection::end_exchange() {
  flight_ = actors::flight{};
  if (auto ex = current_weak_.lock())
    ex->gone();
  current_ = nullptr;
  current_weak_.reset();
  busy_.store(false, std::memory_order_relaxed);
}

/// The answer is queued: read the next request once it is out.
void connection::finish() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::flushing;
  if (!writing_ && !holding_)
    after_flush();
}

void connection::after_flush() {
  if (phase_ != phase::flushing)
    return;
  if (!keep_alive_) {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (watching_)
      fail();
    else
      linger();
    return;
  }
  if (watching_) {
    // the watching read is cancelled; its handler reads the next request
    resume_ = true;
    phase_ = phase::reading;
    beast::error_code ignored;
    tcp().socket().cancel(ignored);
    return;
  }
  read();
}

/// After the last answer: reads and drops what the client still sends (at
/// most 1 MiB, 2 s) before closing, so that closing with unread input does
/// not reset the connection before the client read the answer.
void connection::linger(size_t dropped) {
  phase_ = phase::lingering;
  if (dropped == 0)
    tcp().expires_after(std::chrono::seconds{2});
  buffer_.clear();
  // the raw socket: what is read is dropped, TLS or not
  tcp().async_read_some(buffer_.prepare(16 * 1024),
                        [self = shared_from_this(), dropped](beast::error_code ec, size_t n) {
                          if (ec || dropped + n > 1024 * 1024)
                            self->fail();
                          else
                            self->linger(dropped + n);
                        });
}

void connection::fail() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  end_exchange();
  read_timer_.cancel();
  beast::error_code ignored;
  tcp().socket().close(ignored);
}

// -- metrics --------------------------------------------------------------------

void connection::count_request(const protocol::message* msg,
                               std::string_view session_id) {
  if (msg == nullptr) {
    counting_ = true;
    count_method_ = actors::metrics::methods.size() - 1;
    count_start_ = std::chrono::steady_clock::now();
  } else {
    count_method_ = actors::metrics::method_index(msg->method);
  }
  if (srv_.cfg.log_requests) {
    count_session_ = std::string{session_id};
    count_id_ = msg != nullptr ? msg->id.to_json() : std::string{};
    count_method_name_ = msg != nullptr ? std::string{msg->method.substr(0, 64)}
                                        : std::string{};
  }
}

actors::flight* connection::flight_for_request(std::string_view method) {
  if (!counting_ || method == "subscriptions/listen")
    return nullptr;
  return &flight_;
}

void connection::count(actors::metrics::outcome o) {
  if (!counting_)
    return;
  counting_ = false;
  auto took = std::chrono::steady_clock::now() - count_start_;
  srv_.gw.stats().request(count_method_, o, took);
  if (srv_.cfg.log_requests) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    log::info("request", {{"session", count_session_},
                          {"request", count_id_},
                          {"method", count_method_name_},
                          {"outcome", actors::metrics::name(o)},
                          {"duration_us", std::to_string(us)}});
  }
}

void connection::count_reply(protocol::message_kind kind, int status) {
  using o = actors::metrics::outcome;
  if (status == 503)
    count(o::refused);
  else if (status >= 400)
    count(o::rejected);
  else if (kind == protocol::message_kind::result)
    count(o::result);
  else if (kind == protocol::message_kind::error)
    count(o::error);
}

// -- exchange -------------------------------------------------------------------

template <class F>
void exchange::on_strand(F f) {
  if (auto c = conn_.lock())
    net::post(c->executor(), [c, self = shared_from_this(), f = std::move(f)]() mutable {
      f(*c, *self);
    });
}

void exchange::send(actors::reply r) {
  on_strand([r = std::move(r)](connection& c, exchange& ex) mutable {
    c.send_reply(ex, std::move(r));
  });
}

void exchange::open_stream(std::string_view prime_id, int retry_ms) {
  on_strand([prime = std::string{prime_id}, retry_ms](connection& c, exchange& ex) mutable {
    c.send_open(ex, std::move(prime), retry_ms);
  });
}

void exchange::event(std::string_view id, protocol::message_kind kind, std::string data) {
  on_strand([id = std::string{id}, kind, data = std::move(data)](connection& c,
                                                                 exchange& ex) mutable {
    c.send_event(ex, std::move(id), kind, std::move(data));
  });
}

void exchange::named_event(std::string name, std::string data) {
  on_strand([name = std::move(name), data = std::move(data)](connection& c, exchange& ex) mutable {
    c.send_named(ex, std::move(name), std::move(data));
  });
}

void exchange::close() {
  on_strand([](connection& c, exchange& ex) { c.send_close(ex); });
}

} // namespace mcpvisor::transports
