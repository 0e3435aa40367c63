#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

/// A stream layer beneath a Beast WebSocket that gathers writes: the bytes
/// of frames written while a write to the socket is under way wait here and
/// go out together in the next one, so a burst of answers costs one
/// `sendmsg` instead of one per frame. A write completes as soon as its
/// bytes are here (`backlog()` says how many wait; the owner stops reading
/// its peer while too many do). Reads pass through. Everything runs on the
/// owner's strand, as Beast's own operations do.
namespace mcpvisor::transports {

template <class Next>
class coalescing_stream {
public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;

  explicit coalescing_stream(Next next) : next_(std::move(next)) {
    // nop
  }

  executor_type get_executor() noexcept {
    return next_.get_executor();
  }

  Next& next_layer() noexcept {
    return next_;
  }

  const Next& next_layer() const noexcept {
    return next_;
  }

  /// Keeps the owner alive while a write of gathered bytes is under way,
  /// and is told when the backlog went out.
  void set_owner(std::weak_ptr<void> owner, std::function<void()> drained) {
    owner_ = std::move(owner);
    drained_ = std::move(drained);
  }

  /// Bytes accepted and not yet taken by the socket.
  size_t backlog() const noexcept {
    return pending_.size() + in_flight_.size();
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  typename boost::asio::async_result<std::decay_t<Token>,
                                     void(boost::beast::error_code, size_t)>::return_type
  async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::beast::error_code, size_t)>(
      [this](auto handler, const Buffers& b) {
        auto n = boost::asio::buffer_size(b);
        auto ec = error_;
        if (!ec) {
          auto at = pending_.size();
          pending_.resize(at + n);
          boost::asio::buffer_copy(boost::asio::buffer(pending_.data() + at, n), b);
          flush();
        }
        boost::asio::post(get_executor(),
                          boost::beast::bind_front_handler(std::move(handler), ec,
                                                           ec ? size_t{0} : n));
      },
      token, buffers);
  }

  /// Runs `then` once every byte accepted went out (at once if none wait).
  void after_flush(std::function<void()> then) {
    if (backlog() == 0 || error_)
      then();
    else
      then_ = std::move(then);
  }

private:
  void flush() {
    if (writing_ || pending_.empty())
      return;
    writing_ = true;
    in_flight_.swap(pending_);
    boost::asio::async_write(
      next_, boost::asio::buffer(in_flight_),
      [this, hold = owner_.lock()](boost::beast::error_code ec, size_t) {
        writing_ = false;
        in_flight_.clear();
        if (ec) {
          error_ = ec;
          pending_.clear();
        }
        flush();
        if (backlog() == 0 || error_) {
          if (then_)
            std::exchange(then_, nullptr)();
          if (drained_)
            drained_();
        }
      });
  }

  Next next_;
  std::string pending_;
  std::string in_flight_;
  bool writing_ = false;
  boost::beast::error_code error_;
  std::weak_ptr<void> owner_;
  std::function<void()> drained_;
  std::function<void()> then_;
};

/// The WebSocket closing handshake's teardown (found by Beast through
/// argument-dependent lookup): what is still gathered goes out first.
template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, coalescing_stream<Next>& s,
                    Handler&& handler) {
  auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
  s.after_flush([role, &s, h] {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::move(*h));
  });
}

template <class Next>
void teardown(boost::beast::role_type role, coalescing_stream<Next>& s,
              boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

} // namespace mcpvisor::transports
