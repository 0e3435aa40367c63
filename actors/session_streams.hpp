#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "actors/channel.hpp"
#include "protocol/jsonrpc.hpp"

/// The streams of one 2025-11-25-family session over Streamable HTTP: the
/// answer to each POSTed request (a JSON body, or an SSE stream once a
/// notification comes before the answer), and the standalone GET stream.
/// Every SSE event gets an id "<stream>_<seq>" that names its stream, and a
/// bounded replay buffer keeps recent events so that a client that lost a
/// stream resumes it with GET and Last-Event-ID. No I/O: it drives
/// `channel`s.
namespace mcpvisor::actors {

struct stream_limits {
  /// Events kept for replay per session.
  size_t replay_events = 256;
  /// Bytes of event data kept for replay per session.
  size_t replay_bytes = 1024 * 1024;
  /// SSE `retry` sent with the priming event, in ms.
  int retry_ms = 1000;
};

class session_streams {
public:
  explicit session_streams(stream_limits limits = {}) : limits_(limits) {
    // nop
  }

  /// A POSTed request's answer goes to `ch`. `prime`: the client speaks
  /// 2025-11-25 or later (SSE streams start with a priming event).
  /// `stream_now`: answer with SSE from the start (the client asked for
  /// progress), instead of JSON unless a notification comes first.
  void open_request(const protocol::request_id& id, channel_ptr ch,
                    bool prime, bool stream_now = false);

  /// The answer to request `id`, still to come, goes to `ch` instead (the
  /// request came again after its first exchange was lost with a node of
  /// the cluster); an SSE stream starts over on `ch` with the events kept
  /// for replay. False if `id` has no open answer.
  bool rebind(const protocol::request_id& id, channel_ptr ch);

  /// Delivers a message of `kind` that belongs to request `id` (its answer
  /// when `final`). Falls back to the replay buffer when the client is
  /// away.
  void deliver(const protocol::request_id& id, protocol::message_kind kind,
               std::string json, bool final, int http_status = 0);

  /// Delivers a message on the standalone stream (list changes, resource
  /// updates, server-to-client requests). Kept for replay when no GET
  /// stream is attached.
  void deliver_standalone(protocol::message_kind kind, std::string json);

  /// Ends the SSE stream of request `id` now (priming it first if it had
  /// not started), keeping later events for replay: the client polls.
  void close_early(const protocol::request_id& id);

  enum class attach_result { ok, conflict, unknown_event };

  /// A GET: without `last_event_id` it becomes the standalone stream (at
  /// most one); with it, the stream that id names resumes after that event.
  attach_result attach(channel_ptr ch, std::string_view last_event_id,
                       bool prime);

  /// Closes every stream (the session ends).
  void close_all();

  /// True if the standalone stream has a live client.
  bool standalone_attached() const;

  size_t replay_size() const noexcept {
    return replay_ != nullptr ? replay_->size() : 0;
  }

  bool empty() const noexcept {
    return by_request_.empty() && streams_.empty() && replay_size() == 0;
  }

  /// The number the next stream gets. A session that sleeps (its streams
  /// are empty) keeps it, so that stream numbers are never reused.
  uint64_t next_stream() const noexcept {
    return next_stream_;
  }

  void continue_numbering(uint64_t next) noexcept {
    next_stream_ = next;
  }

private:
  struct stream {
    channel_ptr ch;
    protocol::request_id request;
    uint64_t next_seq = 1;
    bool sse = false;
    bool prime = false;
    bool done = false;
  };

  struct replayed {
    uint64_t stream;
    uint64_t seq;
    std::string data;
    protocol::message_kind kind;
    /// The answer that completes its stream.
    bool final;
  };

  stream& standalone();
  void send_event(uint64_t no, stream& s, protocol::message_kind kind,
                  std::string json, bool final);
  void begin_sse(uint64_t no, stream& s);
  void remember(uint64_t no, uint64_t seq, protocol::message_kind kind,
                const std::string& json, bool final);

  stream_limits limits_;
  uint64_t next_stream_ = 1;
  std::map<uint64_t, stream> streams_;
  std::unordered_map<protocol::request_id, uint64_t, protocol::request_id_hash>
    by_request_;
  /// Allocated with the first event kept (an empty std::deque allocates
  /// about 600 bytes, which idle sessions should not pay).
  std::unique_ptr<std::deque<replayed>> replay_;
  size_t replay_bytes_ = 0;
};

/// Parses "<stream>_<seq>".
std::optional<std::pair<uint64_t, uint64_t>> parse_event_id(std::string_view id);

} // namespace mcpvisor::actors
