#include "transports/stdio.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

#include "actors/channel.hpp"
#include "actors/gateway.hpp"
#include "protocol/engine.hpp"

namespace mcpvisor::transports {

namespace {

/// stdout, one message per line, written whole under a lock.
class stdout_channel : public actors::channel {
public:
  void reply(int, std::string body, std::string_view) override {
    line(std::move(body));
  }
  void open_stream(std::string_view, int) override {
    // nop: every message is a line anyway
  }
  void event(std::string_view, std::string data) override {
    line(std::move(data));
  }
  void close() override {
    // nop
  }
  bool alive() const override {
    return open_.load();
  }
  void shut() {
    open_.store(false);
  }

  void line(std::string text) {
    if (text.empty() || !open_.load())
      return;
    text += '\n';
    std::lock_guard<std::mutex> guard{mtx_};
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
      auto n = ::write(STDOUT_FILENO, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        open_.store(false); // the client closed its end
        return;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }

private:
  std::mutex mtx_;
  std::atomic<bool> open_{true};
};

} // namespace

void serve_stdio(actors::gateway& gw, size_t max_line) {
  auto out = std::make_shared<stdout_channel>();
  std::string session;
  std::string pending;
  bool skipping = false;
  char buf[65536];
  auto handle = [&](std::string text) {
    auto msg = std::make_unique<protocol::message>();
    if (auto err = protocol::decode(std::move(text), *msg)) {
      out->line(protocol::decode_failure(*err).json);
      return;
    }
    if (msg->kind == protocol::message_kind::request && gw.overloaded()) {
      // the andon cord is pulled: new requests are refused at once
      out->line(protocol::encode_error(msg->id, protocol::errc::internal_error,
                                       actors::overloaded_text));
      return;
    }
    bool meta_version = protocol::find_member(msg->meta(),
                                              "io.modelcontextprotocol/protocolVersion")
                        != nullptr;
    if (meta_version) {
      gw.stateless(std::move(msg), nullptr, out, true);
      return;
    }
    if (!session.empty()) {
      if (gw.post(session, std::move(msg), out)
          == actors::gateway::result::unknown_session)
        session.clear(); // it ended; a new initialize may start another
      return;
    }
    if (msg->kind != protocol::message_kind::request)
      return;
    if (msg->method == "initialize") {
      gw.initialize(std::move(msg), out, true, &session);
      // the session is started by its shard; wait until it can be routed to
      // so that the next line does not arrive before it exists
      for (int i = 0; i < 1000 && !gw.known(session); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
      if (!gw.known(session))
        session.clear(); // initialize failed; its answer says why
      return;
    }
    if (msg->method == "ping") {
      out->line(protocol::encode_result(msg->id, "{}"));
      return;
    }
    out->line(protocol::encode_error(msg->id, protocol::errc::invalid_request,
                                     "not initialized: send initialize first"));
  };
  for (;;) {
    auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\n')
        continue;
      if (!skipping)
        pending.append(buf + start, i - start);
      if (!skipping && !pending.empty() && pending != "\r")
        handle(std::move(pending));
      pending.clear();
      skipping = false;
      start = i + 1;
    }
    if (!skipping)
      pending.append(buf + start, static_cast<size_t>(n) - start);
    if (pending.size() > max_line) {
      out->line(protocol::encode_error({}, protocol::errc::invalid_request,
                                       "message larger than "
                                         + std::to_string(max_line) + " bytes"));
      pending.clear();
      skipping = true;
    }
  }
  if (!skipping && !pending.empty() && pending != "\r")
    handle(std::move(pending)); // a last line without a newline
  // EOF: end the session and give its actor a moment to finish writing
  if (!session.empty()) {
    gw.remove(session);
    for (int i = 0; i < 200 && gw.known(session); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  out->shut();
}

} // namespace mcpvisor::transports
