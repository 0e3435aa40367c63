#include "actors/session_streams.hpp"

#include <charconv>

namespace mcpvisor::actors {

namespace {

std::string event_id(uint64_t stream, uint64_t seq) {
  return std::to_string(stream) + "_" + std::to_string(seq);
}

bool live(const channel_ptr& ch) {
  return ch != nullptr && ch->alive();
}

} // namespace

std::optional<std::pair<uint64_t, uint64_t>>
parse_event_id(std::string_view id) {
  auto sep = id.find('_');
  if (sep == std::string_view::npos)
    return std::nullopt;
  uint64_t stream = 0;
  uint64_t seq = 0;
  auto a = std::from_chars(id.data(), id.data() + sep, stream);
  auto b = std::from_chars(id.data() + sep + 1, id.data() + id.size(), seq);
  if (a.ec != std::errc{} || a.ptr != id.data() + sep || b.ec != std::errc{}
      || b.ptr != id.data() + id.size())
    return std::nullopt;
  return std::make_pair(stream, seq);
}

void session_streams::open_request(const protocol::request_id& id,
                                   channel_ptr ch, bool prime,
                                   bool stream_now) {
  auto no = next_stream_++;
  stream s;
  s.ch = std::move(ch);
  s.request = id;
  s.prime = prime;
  auto& placed = streams_.emplace(no, std::move(s)).first->second;
  by_request_[id] = no;
  if (stream_now)
    begin_sse(no, placed);
}

void session_streams::remember(uint64_t no, uint64_t seq,
                               protocol::message_kind kind,
                               const std::string& json, bool final) {
  if (replay_ == nullptr)
    replay_ = std::make_unique<std::deque<replayed>>();
  auto& r = *replay_;
  r.push_back(replayed{no, seq, json, kind, final});
  replay_bytes_ += json.size();
  while (!r.empty()
         && (r.size() > limits_.replay_events
             || replay_bytes_ > limits_.replay_bytes)) {
    replay_bytes_ -= r.front().data.size();
    r.pop_front();
  }
}

void session_streams::begin_sse(uint64_t no, stream& s) {
  s.sse = true;
  if (live(s.ch))
    s.ch->open_stream(s.prime ? event_id(no, 0) : std::string{},
                      limits_.retry_ms);
}

void session_streams::send_event(uint64_t no, stream& s,
                                 protocol::message_kind kind, std::string json,
                                 bool final) {
  auto seq = s.next_seq++;
  auto id = event_id(no, seq);
  remember(no, seq, kind, json, final);
  if (live(s.ch))
    s.ch->event(id, kind, std::move(json));
}

void session_streams::deliver(const protocol::request_id& id,
                              protocol::message_kind kind, std::string json,
                              bool final, int http_status) {
  auto it = by_request_.find(id);
  if (it == by_request_.end())
    return;
  auto no = it->second;
  auto& s = streams_.at(no);
  if (!s.sse) {
    if (final) {
      // the whole answer is one JSON body
      if (live(s.ch))
        s.ch->send(reply{kind, http_status != 0 ? http_status : 200, std::move(json), {}});
      streams_.erase(no);
      by_request_.erase(it);
      return;
    }
    begin_sse(no, s);
  }
  send_event(no, s, kind, std::move(json), final);
  if (final) {
    if (live(s.ch))
      s.ch->close();
    streams_.erase(no);
    by_request_.erase(it);
  }
}

bool session_streams::rebind(const protocol::request_id& id, channel_ptr ch) {
  auto it = by_request_.find(id);
  if (it == by_request_.end())
    return false;
  auto no = it->second;
  auto& s = streams_.at(no);
  if (live(s.ch) && s.ch != ch)
    s.ch->close();
  s.ch = std::move(ch);
  if (s.sse && live(s.ch)) {
    s.ch->open_stream({}, limits_.retry_ms);
    if (replay_ != nullptr)
      for (auto& e : *replay_)
        if (e.stream == no)
          s.ch->event(event_id(no, e.seq), e.kind, e.data);
  }
  return true;
}

session_streams::stream& session_streams::standalone() {
  auto it = streams_.find(0);
  if (it == streams_.end())
    it = streams_.emplace(0, stream{}).first;
  return it->second;
}

void session_streams::deliver_standalone(protocol::message_kind kind,
                                         std::string json) {
  auto& s = standalone();
  send_event(0, s, kind, std::move(json), false);
}

void session_streams::close_early(const protocol::request_id& id) {
  auto it = by_request_.find(id);
  if (it == by_request_.end())
    return;
  auto& s = streams_.at(it->second);
  if (!s.sse)
    begin_sse(it->second, s);
  if (live(s.ch))
    s.ch->close();
  s.ch = nullptr;
}

session_streams::attach_result
session_streams::attach(channel_ptr ch, std::string_view last_event_id,
                        bool prime) {
  if (last_event_id.empty()) {
    auto& s = standalone();
    if (live(s.ch))
      return attach_result::conflict;
    s.ch = std::move(ch);
    s.sse = true;
    s.prime = prime;
    s.ch->open_stream(prime ? event_id(0, 0) : std::string{}, limits_.retry_ms);
    return attach_result::ok;
  }
  auto parsed = parse_event_id(last_event_id);
  if (!parsed || parsed->first >= next_stream_)
    return attach_result::unknown_event;
  auto [no, after] = *parsed;
  ch->open_stream({}, limits_.retry_ms);
  bool finished = false;
  if (replay_ != nullptr) {
    for (auto& e : *replay_) {
      if (e.stream != no || e.seq <= after)
        continue;
      ch->event(event_id(no, e.seq), e.kind, e.data);
      finished = finished || e.final;
    }
  }
  auto it = streams_.find(no);
  if (it == streams_.end() || finished) {
    // the stream's answer was already sent (or was evicted): nothing more
    // will come on it
    if (no != 0) {
      ch->close();
      return attach_result::ok;
    }
  }
  auto& s = it != streams_.end() ? it->second : standalone();
  if (live(s.ch) && s.ch != ch)
    s.ch->close();
  s.ch = std::move(ch);
  s.sse = true;
  return attach_result::ok;
}

void session_streams::close_all() {
  for (auto& [no, s] : streams_)
    if (live(s.ch))
      s.ch->close();
  streams_.clear();
  by_request_.clear();
}

bool session_streams::standalone_attached() const {
  auto it = streams_.find(0);
  return it != streams_.end() && live(it->second.ch);
}

} // namespace mcpvisor::actors
