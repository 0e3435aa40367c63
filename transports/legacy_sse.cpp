#include "transports/legacy_sse.hpp"

#include "actors/channel.hpp"
#include "actors/gateway.hpp"
#include "protocol/seal.hpp"
#include "transports/auth.hpp"
#include "transports/http_connection.hpp"

namespace mcpvisor::transports {

namespace {

/// The session's messages as events of the stream; a reply that would end
/// a Streamable HTTP exchange is one more event here (there are no event
/// ids: 2024-11-05 clients do not resume).
class legacy_channel : public actors::channel {
public:
  explicit legacy_channel(std::shared_ptr<exchange> ex) : ex_(std::move(ex)) {
    // nop
  }

  void send(actors::reply r) override {
    ex_->event({}, r.kind, std::move(r.json));
  }
  void open_stream(std::string_view, int) override {
    // nop: the stream is open
  }
  void event(std::string_view, protocol::message_kind kind, std::string json) override {
    ex_->event({}, kind, std::move(json));
  }
  void close() override {
    ex_->close();
  }
  bool alive() const override {
    return ex_->alive();
  }

private:
  std::shared_ptr<exchange> ex_;
};

std::string json_error(std::string_view text) {
  return protocol::encode_error({}, protocol::errc::invalid_request, text);
}

/// The value of `sessionId` in the query of `target`.
std::string_view session_param(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (pair.substr(0, 10) == "sessionId=")
      return pair.substr(10);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

} // namespace

struct legacy_sse::stream {
  std::shared_ptr<legacy_channel> ch;
  std::mutex mtx;
  /// The runtime's session, once initialize started it.
  std::string session;
  /// The token's subject that opened the stream (with authentication).
  std::string subject;
};

void legacy_sse::serve(connection& c, request_reader::request& req,
                       const protocol::http_request& v, protocol::principal_ptr who) {
  auto path = v.target.substr(0, v.target.find('?'));
  if (!c.server().endpoint.origins.allows(v.host, v.origin)) {
    c.respond(403, json_error("forbidden: Host or Origin is not allowed"));
    return;
  }
  if (path == "/sse") {
    if (v.method != "GET") {
      c.respond(405, json_error("method not allowed: GET /sse opens the stream"), "GET");
      return;
    }
    if (!v.accept.empty() && !protocol::accepts(v.accept, "text/event-stream")) {
      c.respond(406, json_error("not acceptable: Accept must list text/event-stream"));
      return;
    }
    open(c, std::move(who));
    return;
  }
  if (v.method != "POST") {
    c.respond(405, json_error("method not allowed: POST messages here"), "POST");
    return;
  }
  post(c, v, std::move(req.body()), std::move(who));
}

void legacy_sse::open(connection& c, protocol::principal_ptr who) {
  auto& gw = c.server().gw;
  if (gw.overloaded()) {
    c.respond(503, protocol::encode_error({}, protocol::errc::internal_error,
                                          "the server is overloaded; retry later"));
    return;
  }
  // 128 bits from the CSPRNG name the stream
  auto secret = protocol::random_secret();
  auto token = protocol::base64url_encode(
    {reinterpret_cast<const char*>(secret.data()), 16});
  auto ex = c.begin_exchange({});
  ex->open_stream({}, 0);
  ex->named_event("endpoint", "/messages?sessionId=" + token);
  auto s = std::make_shared<stream>();
  s->ch = std::make_shared<legacy_channel>(std::move(ex));
  if (who != nullptr)
    s->subject = who->subject;
  std::lock_guard<std::mutex> guard{mtx_};
  streams_[token] = std::move(s);
}

void legacy_sse::post(connection& c, const protocol::http_request& v, std::string body,
                      protocol::principal_ptr who) {
  auto& gw = c.server().gw;
  if (!v.content_type.empty() && v.content_type.find("application/json") == std::string_view::npos) {
    c.respond(415, json_error("unsupported media type: Content-Type must be application/json"));
    return;
  }
  std::shared_ptr<stream> s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = streams_.find(std::string{session_param(v.target)}); i != streams_.end())
      s = i->second;
  }
  if (s == nullptr || !s->ch->alive() || (who != nullptr && who->subject != s->subject)) {
    c.respond(404, json_error("unknown sessionId: open a stream with GET /sse first"));
    return;
  }
  std::lock_guard<std::mutex> guard{s->mtx};
  auto msg = std::make_unique<protocol::message>();
  auto r = protocol::route_stdio(std::move(body), *msg, !s->session.empty(), gw.overloaded(),
                                 c.server().endpoint.limits);
  if (r.kind == protocol::route_kind::answer) {
    if (r.overloaded) {
      c.respond(503, std::move(r.body));
      return;
    }
    if (r.status != 0)
      s->ch->send(actors::reply{protocol::message_kind::error, 200, std::move(r.body), {}});
    c.respond(202, {});
    return;
  }
  if (who != nullptr) {
    auto scope = c.server().cfg.auth->authorize(*msg, *who);
    if (scope.status != 0) {
      c.respond(scope.status, std::move(scope.body), {}, scope.challenge);
      return;
    }
    msg->who = std::move(who);
  }
  if (r.kind == protocol::route_kind::session)
    r.session_id = s->session;
  auto id = msg->id;
  std::string started;
  auto res = gw.submit(r, std::move(msg), {s->ch, true, nullptr, &started});
  if (res == actors::gateway::result::ok) {
    if (r.kind == protocol::route_kind::initialize)
      s->session = std::move(started);
    c.respond(202, {});
    return;
  }
  auto refusal = actors::gateway::refusal(res, id);
  if (refusal.status == 503) {
    c.respond(503, std::move(refusal.body));
    return;
  }
  if (r.kind == protocol::route_kind::session)
    s->session.clear(); // it ended; a new initialize may start another
  if (r.request)
    s->ch->send(actors::reply{protocol::message_kind::error, 200, std::move(refusal.body), {}});
  c.respond(202, {});
}

void legacy_sse::sweep(actors::gateway& gw) {
  std::vector<std::shared_ptr<stream>> gone;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = streams_.begin(); i != streams_.end();) {
      if (!i->second->ch->alive()) {
        gone.push_back(std::move(i->second));
        i = streams_.erase(i);
      } else {
        ++i;
      }
    }
  }
  // their sessions end, as at the end of stdin
  for (auto& s : gone) {
    std::lock_guard<std::mutex> guard{s->mtx};
    if (s->session.empty())
      continue;
    protocol::route r;
    r.kind = protocol::route_kind::end_session;
    r.session_id = s->session;
    (void) gw.submit(r, nullptr, {});
  }
}

} // namespace mcpvisor::transports
