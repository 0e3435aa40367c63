#include "actors/session.hpp"

#include <stdexcept>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>

#include "actors/call_link.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "supervision/errors.hpp"

namespace mcpvisor::actors {

namespace {

using protocol::engine_output;
using protocol::request_id;

/// Everything a session holds while it has a client; allocated on its first
/// message, so an idle actor that never got one costs nothing more.
struct session_state {
  explicit session_state(runtime& rt)
    : engine(*rt.server()), streams(rt.config().streams) {
    // nop
  }

  protocol::session engine;
  session_streams streams;
  /// stdio: the one channel everything goes to.
  channel_ptr single;
  std::unordered_map<request_id, std::shared_ptr<call_link>,
                     protocol::request_id_hash>
    links;
  bool tick_pending = false;
  bool watched = false;
};

class session_actor : public caf::event_based_actor {
public:
  session_actor(caf::actor_config& cfg, runtime& rt, session_id id,
                supervision::mailbox_gauge* gauge, first_message_ptr first)
    : caf::event_based_actor(cfg),
      rt_(rt),
      id_(id),
      gauge_(gauge),
      first_(std::move(first)) {
    // nop
  }

  const char* name() const override {
    return "session";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    restore();
    if (first_ != nullptr) {
      // The initialize that created this session; a restart never sees it.
      auto in = std::move(first_->in);
      first_.reset();
      if (in != nullptr)
        post(*in);
    }
    return {
      [this](post_atom, inbound_ptr& in) {
        observe();
        post(*in);
      },
      [this](get_atom, channel_ptr& ch, std::string& last_event_id) {
        observe();
        get(std::move(ch), last_event_id);
      },
      [this](call_done_atom, call_ptr& call, std::string& crash) {
        observe();
        if (!crash.empty())
          throw std::runtime_error("handler of " + call->target()
                                   + " crashed: " + crash);
        if (st_ == nullptr)
          return;
        engine_output out;
        st_->engine.finish(*call, out);
        route(out);
      },
      [this](notify_atom, request_id& id, std::string& json) {
        if (st_ != nullptr)
          emit(id, std::move(json), false);
      },
      [this](close_stream_atom, request_id& id) {
        if (st_ != nullptr && st_->single == nullptr)
          st_->streams.close_early(id);
      },
      [this](change_atom, protocol::catalog_change what, std::string& uri) {
        if (st_ == nullptr)
          return;
        engine_output out;
        st_->engine.notify_change(what, uri, out);
        route(out);
      },
      [this](tick_atom) {
        if (st_ == nullptr)
          return;
        st_->tick_pending = false;
        engine_output out;
        st_->engine.tick(std::chrono::steady_clock::now(), out);
        route(out);
      },
      [this](ping_atom) {
        observe();
        return pong_atom::value;
      },
      [this](crash_atom, const std::string& why) {
        observe();
        throw std::runtime_error(why);
      },
      [this](close_atom) {
        observe();
        end();
      },
    };
  }

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    // A session that ended normally is gone for good; after a crash or a
    // kill its shard decides, and a restart replaces the routing entry.
    if (supervision::is_normal_exit(reason))
      rt_.registry().slot_of(id_).erase_if(id_, address());
    if (st_ != nullptr) {
      for (auto& [id, link] : st_->links)
        link->cancel();
      if (st_->watched)
        rt_.bus().forget(caf::actor_cast<caf::actor>(this));
    }
    return caf::event_based_actor::cleanup(std::move(reason), host);
  }

private:
  void observe() {
    if (gauge_ != nullptr)
      gauge_->publish(mailbox().size());
  }

  session_state& state() {
    if (st_ == nullptr)
      st_ = std::make_unique<session_state>(rt_);
    return *st_;
  }

  /// Picks up the checkpoint a crashed predecessor left.
  void restore() {
    if (rt_.server() == nullptr)
      return;
    auto cp = rt_.registry().slot_of(id_).checkpoint(id_);
    if (cp.empty())
      return;
    auto& st = state();
    if (!st.engine.restore(cp))
      st_.reset();
    else
      saved_version_ = st.engine.state_version();
  }

  /// Stores the engine's state outside the actor when it changed.
  void save() {
    auto v = st_->engine.state_version();
    if (v == saved_version_ || !st_->engine.initialized())
      return;
    saved_version_ = v;
    rt_.registry().slot_of(id_).save_checkpoint(id_, st_->engine.checkpoint());
  }

  void post(inbound& in) {
    if (rt_.server() == nullptr)
      return;
    auto& st = state();
    auto& msg = *in.msg;
    if (in.single_channel)
      st.single = in.ch;
    bool initializing = msg.kind == protocol::message_kind::request
                        && msg.method == "initialize";
    if (msg.kind == protocol::message_kind::request && st.single == nullptr) {
      if (st.engine.calls_in_flight() >= rt_.config().max_calls_per_session
          && !initializing) {
        in.ch->reply(200, protocol::encode_error(
                            msg.id, protocol::errc::internal_error,
                            "too many requests in flight in this session"));
        return;
      }
      if (!initializing) {
        // a client that asked for progress gets a stream from the start
        bool wants_progress = protocol::find_member(msg.meta(), "progressToken")
                              != nullptr;
        st.streams.open_request(msg.id, in.ch,
                                protocol::primes_sse(st.engine.rev()),
                                wants_progress);
      }
    }
    engine_output out;
    st.engine.receive(msg, out);
    if (initializing && st.single == nullptr) {
      // The answer to initialize carries the session id.
      for (auto& m : out.messages)
        if (m.final && m.stream == msg.id) {
          bool ok = m.json.find("\"error\"") == std::string::npos;
          in.ch->reply(200, std::move(m.json),
                       ok ? std::string_view{text_id()} : std::string_view{});
          m.json.clear();
        }
      if (!st.engine.initialized()) {
        end();
        return;
      }
    }
    route(out);
    save();
  }

  void get(channel_ptr ch, const std::string& last_event_id) {
    if (st_ == nullptr || !st_->engine.initialized()) {
      ch->reply(404, protocol::encode_error({}, protocol::errc::invalid_request,
                                            "session not found"));
      return;
    }
    auto res = st_->streams.attach(ch, last_event_id,
                                   protocol::primes_sse(st_->engine.rev()));
    switch (res) {
      case session_streams::attach_result::ok:
        if (last_event_id.empty())
          watch();
        break;
      case session_streams::attach_result::conflict:
        ch->reply(409, protocol::encode_error(
                         {}, protocol::errc::invalid_request,
                         "this session already has a GET stream"));
        break;
      case session_streams::attach_result::unknown_event:
        ch->reply(400, protocol::encode_error(
                         {}, protocol::errc::invalid_request,
                         "Last-Event-ID names no stream of this session"));
        break;
    }
  }

  /// Registers with the change bus (once): list changes and resource
  /// updates then reach this session.
  void watch() {
    if (!st_->watched) {
      st_->watched = true;
      rt_.bus().watch(caf::actor_cast<caf::actor>(this));
    }
  }

  void emit(const request_id& stream, std::string json, bool final) {
    if (json.empty())
      return;
    if (st_->single != nullptr)
      st_->single->event({}, std::move(json));
    else if (stream.empty())
      st_->streams.deliver_standalone(std::move(json));
    else
      st_->streams.deliver(stream, std::move(json), final);
  }

  void route(engine_output& out) {
    for (auto& m : out.messages)
      emit(m.stream, std::move(m.json), m.final);
    auto calls = std::move(out.calls);
    out.clear();
    for (auto& c : calls)
      start(c);
    if (!st_->watched && st_->engine.initialized()
        && (st_->engine.subscribed_any() || st_->single != nullptr))
      watch();
    // calls that are over (answered, cancelled, expired) release their link
    for (auto it = st_->links.begin(); it != st_->links.end();) {
      if (!st_->engine.in_flight(it->first)) {
        it->second->cancel();
        it = st_->links.erase(it);
      } else {
        ++it;
      }
    }
    schedule_tick();
  }

  void start(const call_ptr& call) {
    auto& link = st_->links[call->id()];
    if (link == nullptr)
      link = std::make_shared<call_link>(caf::actor_cast<caf::actor>(this),
                                         call->id(), nullptr);
    call->context().set_io(link.get());
    if (call->where() == protocol::execution::inline_call) {
      link->hold(true);
      call->run(); // an exception here crashes this session, as it should
      link->hold(false);
      for (auto& n : link->take_held())
        emit(call->id(), std::move(n), false);
      engine_output out;
      st_->engine.finish(*call, out);
      route(out);
      return;
    }
    auto self = caf::actor_cast<caf::actor>(this);
    bool queued = rt_.workers().submit([call, link, self] {
      std::string crash;
      try {
        call->run();
      } catch (const std::exception& e) {
        crash = e.what();
      } catch (...) {
        crash = "unknown exception";
      }
      caf::anon_send(self, call_done_atom::value, call, std::move(crash));
    });
    if (!queued) {
      engine_output out;
      st_->engine.cancel(call->id(), "the server is overloaded: no handler "
                                     "thread is free, retry later",
                         false, out);
      route(out);
    }
  }

  void schedule_tick() {
    if (st_->tick_pending)
      return;
    auto next = st_->engine.next_deadline();
    if (!next)
      return;
    st_->tick_pending = true;
    auto now = std::chrono::steady_clock::now();
    auto delay = *next > now ? *next - now : std::chrono::steady_clock::duration{0};
    delayed_send(this,
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay)
                   + std::chrono::milliseconds{1},
                 tick_atom::value);
  }

  /// Ends the session: calls in flight are answered, streams closed.
  void end() {
    if (st_ != nullptr) {
      engine_output out;
      for (auto& id : st_->engine.call_ids())
        st_->engine.cancel(id, "the session ended", false, out);
      for (auto& m : out.messages)
        emit(m.stream, std::move(m.json), m.final);
      st_->streams.close_all();
    }
    quit();
  }

  const std::string& text_id() {
    if (text_id_.empty())
      text_id_ = id_.to_string();
    return text_id_;
  }

  runtime& rt_;
  session_id id_;
  supervision::mailbox_gauge* gauge_;
  first_message_ptr first_;
  std::unique_ptr<session_state> st_;
  uint64_t saved_version_ = 0;
  std::string text_id_;
};

} // namespace

caf::expected<caf::actor> spawn_session(runtime& rt, const session_id& id,
                                        supervision::mailbox_gauge* gauge,
                                        const caf::message& args) {
  first_message_ptr first;
  if (args.match_elements<first_message_ptr>())
    first = args.get_as<first_message_ptr>(0);
  // An idle restarted session stays lazy until a message arrives; one with
  // a first message starts right away to answer it.
  auto handle = first != nullptr
                  ? rt.system().spawn<session_actor>(rt, id, gauge, first)
                  : rt.system().spawn<session_actor, caf::lazy_init>(rt, id,
                                                                     gauge,
                                                                     first);
  rt.registry().slot_of(id).put(id, handle);
  return handle;
}

} // namespace mcpvisor::actors
