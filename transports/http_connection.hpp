#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <vector>

#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "actors/channel.hpp"
#include "actors/gateway.hpp"
#include "protocol/ingress.hpp"
#include "transports/http_reader.hpp"
#include "transports/http_server.hpp"
#include "transports/legacy_sse.hpp"
#include "transports/tls.hpp"

/// One Streamable HTTP connection: reading requests (http_reader), one
/// exchange at a time with the runtime (the channel its answers come back
/// through), writing answers (http_wire), keep-alive, watching for a client
/// that leaves, and closing. What a request means is the endpoint's
/// business (mcp_endpoint.cpp); this file only moves bytes.
namespace mcpvisor::transports {

class connection;
class exchange;

/// What the server and all its connections share.
struct http_shared {
  http_shared(actors::gateway& g, const http_config& c);

  actors::gateway& gw;
  const http_config& cfg;
  protocol::http_endpoint endpoint;
  std::atomic<size_t> open{0};
  std::mutex mtx;
  std::vector<std::weak_ptr<connection>> conns;
  /// Once `stopping`, released when the last connection is gone.
  std::atomic<bool> stopping{false};
  std::counting_semaphore<> all_closed{0};
  /// The HTTP+SSE transport of 2024-11-05 (`/sse`, `/messages`).
  legacy_sse legacy;
};

/// Routes one request that was read (mcp_endpoint.cpp).
void serve_request(connection& c, request_reader::request& req);

class connection : public std::enable_shared_from_this<connection> {
public:
  /// With `tls`, the connection speaks HTTPS: it sniffs the first bytes
  /// (plain HTTP gets a clear 400), then handshakes.
  connection(boost::asio::ip::tcp::socket socket, http_shared& srv,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~connection();

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void start();

  boost::asio::any_io_executor executor();

  http_shared& server() noexcept {
    return srv_;
  }

  // -- from the server's threads (each posts onto the strand) ------------------

  /// Closes the socket at once (refused connections).
  void shutdown();

  /// The server stops: a request still waiting gets a 503 (or an error
  /// event on its stream) and the connection closes once that is written;
  /// an idle connection closes at once.
  void stop_serving();

  /// Every few seconds: a keep-alive comment on an open stream, and the
  /// answer to an exchange the runtime dropped without one (a safety net
  /// that logs: every path through the runtime answers).
  void tick();

  // -- for the endpoint, on the strand --------------------------------------------

  /// Answers without the runtime, then reads the next request.
  void respond(int status, std::string body, std::string_view allow = {},
               std::string_view challenge = {});

  /// The request is a WebSocket upgrade: the stream goes to a WebSocket
  /// session and this connection reads no more.
  void upgrade(request_reader::request req, protocol::principal_ptr who, int64_t expires);

  /// What an upgraded connection does when the server stops (`now`: close
  /// at once; otherwise close politely). Called on its executor.
  void on_stop(std::function<void(bool now)> fn) {
    on_stop_ = std::move(fn);
  }

  /// Starts an exchange the runtime answers.
  std::shared_ptr<exchange> begin_exchange(protocol::request_id id);

  /// `ex` could not be submitted: it is over, and `r` is the answer.
  void refuse(exchange& ex, protocol::route r);

  /// A POST is counted once, with the time since it was read: from its
  /// start (`msg` null: its method is not known yet), then again once its
  /// message is decoded.
  void count_request(const protocol::message* msg, std::string_view session_id);

  /// A POSTed message that is not a request: not counted.
  void uncount() noexcept {
    counting_ = false;
  }

  /// The request in flight counted for the andon cord while its exchange
  /// runs; null for what is not counted (a subscriptions/listen stream).
  actors::flight* flight_for_request(std::string_view method);

  // -- for exchanges, on the strand -------------------------------------------------

  void send_reply(exchange& ex, actors::reply r);
  void send_open(exchange& ex, std::string prime_id, int retry_ms);
  void send_event(exchange& ex, std::string id, protocol::message_kind kind,
                  std::string data);
  void send_close(exchange& ex);
  void send_named(exchange& ex, std::string name, std::string data);

private:
  /// Where the connection is. A write and a watching read may be under way
  /// in any phase but `closed` (`writing_`, `watching_`).
  enum class phase : uint8_t {
    /// Reading a request.
    reading,
    /// An exchange runs; nothing of its answer is sent yet.
    waiting,
    /// An exchange runs and its SSE stream is open.
    streaming,
    /// The answer is queued: the next request is read (or the connection
    /// closes) once it is written.
    flushing,
    /// After the last answer: what the client still sends is read and
    /// dropped for a moment before the socket closes.
    lingering,
    closed,
  };

  void started_tls(tls_start how);
  boost::beast::tcp_stream& tcp() noexcept {
    return tcp_layer(stream_);
  }

  // reading
  void read();
  void time_reading();
  void parse_buffered();
  template <class Handler>
  void read_some(size_t n, Handler&& done);
  void on_read(boost::beast::error_code ec, size_t n);
  void handle(request_reader::request& req);
  void watch();
  void watch_soon();
  void on_watch(boost::beast::error_code ec, size_t n);

  // writing
  void write_response(int status, std::string_view body,
                      std::string_view session_id = {},
                      std::string_view allow = {}, std::string_view challenge = {});
  void enqueue(std::string bytes);
  void write_next();
  void on_write(boost::beast::error_code ec, size_t n);

  // the exchange's life
  bool owns(const exchange& ex) const noexcept;
  bool in_exchange() const noexcept {
    return phase_ == phase::waiting || phase_ == phase::streaming;
  }
  void answer_and_close(int status, std::string_view text);
  void end_exchange();
  void finish();
  void after_flush();
  void linger(size_t dropped = 0);
  void fail();

  // metrics
  void count(actors::metrics::outcome o);
  void count_reply(protocol::message_kind kind, int status);

  /// Held for the stream: the context of the handshake (a reload makes a
  /// new one for later connections).
  std::shared_ptr<boost::asio::ssl::context> tls_;
  server_stream stream_;
  http_shared& srv_;
  /// Reading a request ends by `read_deadline_` (--read-timeout). The timer
  /// is armed when a read starts and it is not armed already; firing early,
  /// it waits again for the deadline of the request read now, so a request
  /// costs no timer operation (as Beast's per-read timeout did).
  boost::asio::steady_timer read_timer_;
  std::chrono::steady_clock::time_point read_deadline_;
  bool timing_ = false;
  boost::beast::flat_buffer buffer_;
  std::optional<request_reader> reader_;
  phase phase_ = phase::reading;
  std::function<void(bool)> on_stop_;
  /// Writes wait until the head of an SSE stream has company.
  bool holding_ = false;
  bool writing_ = false;
  bool watching_ = false;
  /// A watching read is being cancelled to read the next request.
  bool resume_ = false;
  bool keep_alive_ = true;
  std::deque<std::string> out_;
  std::vector<boost::asio::const_buffer> in_flight_;
  size_t writes_ = 0;
  size_t queued_ = 0;
  /// The exchange under way (owned by the runtime, which may drop it).
  const exchange* current_ = nullptr;
  std::weak_ptr<exchange> current_weak_;
  protocol::request_id current_id_;
  /// For the server's ticks, which run on other threads.
  std::atomic<bool> busy_{false};
  // the POSTed request being counted
  bool counting_ = false;
  size_t count_method_ = 0;
  std::chrono::steady_clock::time_point count_start_;
  std::string count_session_;
  std::string count_id_;
  std::string count_method_name_;
  actors::flight flight_;
};

/// One exchange: the answer to one POST or one GET stream. Handed to the
/// runtime as its channel; every call is posted onto the connection's
/// strand, and the connection ignores calls for an exchange that is over.
class exchange : public actors::channel,
                 public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<connection> conn, protocol::request_id id)
    : conn_(std::move(conn)), id_(std::move(id)) {
    // nop
  }

  void send(actors::reply r) override;
  void open_stream(std::string_view prime_id, int retry_ms) override;
  void event(std::string_view id, protocol::message_kind kind,
             std::string data) override;
  void close() override;

  /// An SSE event with a name (the 2024-11-05 `endpoint` event).
  void named_event(std::string name, std::string data);

  bool alive() const override {
    return alive_.load(std::memory_order_acquire);
  }

  /// The client went away or the exchange ended.
  void gone() noexcept {
    alive_.store(false, std::memory_order_release);
  }

  const protocol::request_id& id() const noexcept {
    return id_;
  }

  /// Whose request this is, when the endpoint checks tokens: the session
  /// id an initialize announces is bound to its subject.
  protocol::principal_ptr who;

  /// Set once anything was sent (a body or the start of a stream).
  bool answered = false;

private:
  template <class F>
  void on_strand(F f);

  std::weak_ptr<connection> conn_;
  protocol::request_id id_;
  std::atomic<bool> alive_{true};
};

} // namespace mcpvisor::transports
