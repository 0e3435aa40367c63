#include "transports/stdio.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include "actors/channel.hpp"
#include "actors/gateway.hpp"
#include "protocol/ingress.hpp"
#include "transports/line_splitter.hpp"

namespace mcpvisor::transports {

namespace {

/// stdout, one message per line, written by a thread of its own from a
/// queue, so that no actor ever blocks on a client that does not read. The
/// reader stops taking stdin while the queue holds more than `limit` bytes
/// (`wait_for_room`): a client that never reads its answers is held back by
/// its own full pipe, and memory stays bounded.
class stdout_channel : public actors::channel {
public:
  explicit stdout_channel(size_t limit) : limit_(limit) {
    // nop
  }

  void send(actors::reply r) override {
    line(std::move(r.json));
  }
  void open_stream(std::string_view, int) override {
    // nop: every message is a line anyway
  }
  void event(std::string_view, protocol::message_kind, std::string data) override {
    line(std::move(data));
  }
  /// The session ended: it sends nothing more.
  void close() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ended_ = true;
    }
    cv_.notify_all();
  }
  bool alive() const override {
    return open_.load();
  }

  void line(std::string text) {
    if (text.empty() || !open_.load())
      return;
    text += '\n';
    {
      std::lock_guard<std::mutex> guard{mtx_};
      queued_ += text.size();
      lines_.push_back(std::move(text));
    }
    cv_.notify_all();
  }

  /// Blocks while more than the limit waits to be written.
  void wait_for_room() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [this] { return queued_ <= limit_ || !open_.load(); });
  }

  /// Waits up to `timeout` for the session to end (`close`) and then for
  /// the queue to be written out.
  void finish(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, timeout, [this] {
      return (ended_ && queued_ == 0) || !open_.load();
    });
  }

  /// Stops writing; the writer thread ends within its poll interval.
  void shut() {
    open_.store(false);
    cv_.notify_all();
  }

  /// The writer thread's loop.
  void write_all() {
    std::string current;
    size_t done = 0;
    while (open_.load()) {
      if (done == current.size()) {
        std::unique_lock<std::mutex> lock{mtx_};
        queued_ -= current.size();
        current.clear();
        done = 0;
        cv_.notify_all();
        cv_.wait(lock, [this] { return !lines_.empty() || !open_.load(); });
        if (lines_.empty())
          return;
        current = std::move(lines_.front());
        lines_.pop_front();
        continue;
      }
      // poll first so that a client that never reads cannot hold this
      // thread past shutdown; pipe writes of a page or less do not block
      // once poll says there is room
      pollfd p{STDOUT_FILENO, POLLOUT, 0};
      auto ready = ::poll(&p, 1, 200);
      if (ready == 0 || (ready < 0 && errno == EINTR))
        continue;
      if (ready < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
        shut(); // the client closed its end
        return;
      }
      auto n = ::write(STDOUT_FILENO, current.data() + done,
                       std::min<size_t>(current.size() - done, 4096));
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        shut();
        return;
      }
      done += static_cast<size_t>(n);
    }
  }

private:
  size_t limit_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  size_t queued_ = 0;
  bool ended_ = false;
  std::atomic<bool> open_{true};
};

} // namespace

void serve_stdio(actors::gateway& gw, size_t max_line, size_t max_queued) {
  auto out = std::make_shared<stdout_channel>(max_queued);
  std::thread writer{[out] { out->write_all(); }};
  std::string session;
  line_splitter lines{max_line};
  char buf[65536];
  auto handle = [&](std::string text) {
    auto msg = std::make_unique<protocol::message>();
    auto r = protocol::route_stdio(std::move(text), *msg, !session.empty(),
                                   gw.overloaded());
    if (r.kind == protocol::route_kind::answer) {
      if (r.status != 0)
        out->line(std::move(r.body));
      return;
    }
    if (r.kind == protocol::route_kind::session)
      r.session_id = session;
    auto id = msg->id;
    std::string started;
    auto res = gw.submit(r, std::move(msg), {out, true, nullptr, &started});
    if (res == actors::gateway::result::ok) {
      if (r.kind == protocol::route_kind::initialize)
        session = std::move(started);
      return;
    }
    if (r.kind == protocol::route_kind::session)
      session.clear(); // it ended; a new initialize may start another
    if (r.request)
      out->line(actors::gateway::refusal(res, id).body);
  };
  for (;;) {
    out->wait_for_room();
    if (!out->alive())
      break; // stdout is gone: nobody would see an answer
    auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    lines.feed(buf, static_cast<size_t>(n), handle, [&] {
      out->line(protocol::encode_error({}, protocol::errc::invalid_request,
                                       "message larger than "
                                         + std::to_string(max_line) + " bytes"));
    });
  }
  if (auto last = lines.rest(); !last.empty())
    handle(std::move(last)); // a last line without a newline
  // EOF: end the session, and let its last answers out
  if (!session.empty()) {
    protocol::route end;
    end.kind = protocol::route_kind::end_session;
    end.session_id = session;
    if (gw.submit(end, nullptr, {}) == actors::gateway::result::ok)
      out->finish(std::chrono::seconds{2});
  }
  out->shut();
  writer.join();
}

} // namespace mcpvisor::transports
