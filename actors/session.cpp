#include "actors/session.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/result.hpp>

#include "actors/call_link.hpp"
#include "actors/keyed_calls.hpp"
#include "actors/cluster.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "actors/tree.hpp"
#include "actors/upstream.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

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
  /// A call in flight: its link to the handler, the request that started
  /// it, and whether it may run again after a crash.
  struct flight {
    std::shared_ptr<call_link> link;
    inbound_ptr in;
    bool replay = false;
    /// It has an idempotency key: a crash does not stop it, so that its
    /// answer is stored for a retry.
    bool keyed = false;
    /// Keyed, and another request's run of its key is in progress: it has
    /// not started and asks again every `keyed_poll`.
    call_ptr waiting;
    /// The idempotency key this call runs under (set when it starts).
    std::string owned_key;
  };
  std::unordered_map<request_id, flight, protocol::request_id_hash> flights;
  /// The message being handled, the inline call running, and the call
  /// whose handler crashed on a worker: what a crash report names and what
  /// a restart must not run again.
  inbound_ptr current;
  request_id running;
  request_id crashed;
  /// When the timer set for the earliest deadline fires (none if unset).
  std::optional<std::chrono::steady_clock::time_point> tick_at;
  bool watched = false;
  /// The engine's state version last written to the checkpoint.
  uint64_t saved_version = 0;
};

/// The error a request gets when the session restarted while it was in
/// flight and it could not be run again.
reply restarted_error(const request_id& id) {
  return reply::error(id, protocol::errc::internal_error, restarted_text, 200,
                      R"({"sessionRestarted":true})");
}

/// The admin API's description of a session: its revision, client and
/// calls in flight when it finished initialize.
std::string describe_engine(const protocol::session* engine, bool asleep,
                            size_t mailbox_depth) {
  std::string out = "{\"initialized\":";
  bool init = engine != nullptr && engine->initialized();
  out += init ? "true" : "false";
  if (init) {
    out += ",\"revision\":\"";
    out += protocol::to_string(engine->rev());
    out += "\",\"client\":";
    protocol::append_quoted(out, engine->client_name());
    if (!engine->subject().empty()) {
      out += ",\"subject\":";
      protocol::append_quoted(out, engine->subject());
      out += ",\"scopes\":";
      protocol::append_quoted(out, engine->scopes());
    }
    out += ",\"in_flight\":";
    out += std::to_string(engine->calls_in_flight());
  }
  if (asleep)
    out += ",\"asleep\":true";
  out += ",\"mailbox_depth\":";
  out += std::to_string(mailbox_depth);
  out += '}';
  return out;
}

class session_actor : public caf::event_based_actor {
public:
  session_actor(caf::actor_config& cfg, runtime& rt, session_id id,
                supervision::mailbox_gauge* gauge)
    : caf::event_based_actor(cfg), rt_(rt), id_(id), gauge_(gauge) {
    // nop
  }

  const char* name() const override {
    return "session";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    restore();
    // events go out without a sender: only an info request is answered
    if (recovering_ != nullptr)
      caf::anon_send<caf::message_priority::high>(
        caf::actor_cast<caf::actor>(this), event_atom::value,
        event::of(event::kind::recover));
    return {
      // only the admin's info request is answered; every other event is
      // sent anonymously (crash(), submit_call(), the change bus, the
      // gateway) and gets no answer at all: "delegated" builds no message
      [this](event_atom, event& e) -> caf::result<std::string> {
        observe();
        if (e.what == event::kind::info)
          return describe();
        handle(e);
        return caf::delegated<std::string>{};
      },
    };
  }

  /// Every event but an info request (answered in make_behavior).
  void handle(event& e) {
    using kind = event::kind;
    switch (e.what) {
      case kind::client:
        take(e.in);
        return;
      case kind::info:
        return; // answered by make_behavior
      case kind::recover:
        // also the message that wakes a new actor (see spawn_session)
        if (recovering_ != nullptr)
          recover();
        return;
      case kind::call_done:
        if (!e.text.empty()) {
          if (st_ != nullptr)
            st_->crashed = e.call->id();
          throw std::runtime_error("handler of " + e.call->target()
                                   + " crashed: " + e.text);
        }
        if (st_ != nullptr) {
          engine_output out;
          st_->engine.finish(*e.call, out);
          route(out);
        }
        return;
      case kind::notify:
        if (st_ != nullptr)
          emit(e.id, protocol::message_kind::notification, std::move(e.text),
               false);
        return;
      case kind::close_stream:
        if (st_ != nullptr && st_->single == nullptr)
          st_->streams.close_early(e.id);
        return;
      case kind::change:
        if (st_ != nullptr) {
          engine_output out;
          st_->engine.notify_change(e.change, e.text, out);
          route(out);
        }
        return;
      case kind::tick:
        if (st_ != nullptr) {
          if (st_->tick_at && std::chrono::steady_clock::now() >= *st_->tick_at)
            st_->tick_at.reset();
          engine_output out;
          st_->engine.tick(std::chrono::steady_clock::now(), out);
          route(out);
        }
        return;
      case kind::sleep:
        sleep();
        return;
      case kind::close:
        end("the session expired");
        return;
      case kind::migrate:
        migrating_ = true;
        try_migrate();
        return;
      case kind::crash:
        throw std::runtime_error(e.text);
      case kind::task:
        return; // tasks are run by the stateless actors
      case kind::again:
        if (st_ != nullptr)
          retry_keyed(e.id);
        return;
    }
  }

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    // A session ends for good when it ended itself (DELETE, expiry), when
    // it was stopped for good (terminate_child), or when the node stops.
    // Any other exit (a crash, a kill, its shard stopping to restart)
    // leaves the session routed and hands what it holds to the next actor.
    bool for_good = ended_ || rt_.stopping()
                    || reason == caf::exit_reason::user_shutdown;
    auto& reg = rt_.registry();
    if (migrated_) {
      hand_on();
    } else if (passivated_ && !for_good) {
      // from now on messages wait in the session's slot; what reached the
      // mailbox meanwhile waits there too, for an actor started at once
      if (reg.passivate(id_, address())) {
        auto h = hand_over();
        h->after_crash = false;
        if (!h->queued.empty()) {
          reg.leave(id_, std::move(h));
          if (reg.wake(id_))
            rt_.start_session(id_);
        }
      }
    } else if (for_good) {
      if (!ended_)
        end("the server is shutting down");
      // forget the name first: nothing is sent here after this, so what
      // the mailbox holds now is all that is left to answer
      auto left = reg.unregister_name(id_, address());
      rt_.checkpoints().erase(id_);
      // its buddy forgets it too, unless the node stops (a drained node's
      // sessions live on at their buddies)
      if (auto* cl = rt_.clustered(); cl != nullptr && !rt_.stopping())
        cl->replicate_erase(id_);
      session_handover rest;
      if (left != nullptr)
        rest = std::move(*left);
      drain_client_messages(*this, rest.queued);
      answer_unreached(rest, rt_.stopping() ? shutting_down_text : "session not found",
                       rt_.stopping() ? 503 : 404);
      // per-session upstream processes of this session stop with it
      if (!rt_.stopping())
        for (auto& u : rt_.upstreams())
          u->session_ended(text_id());
    } else {
      report_crash(reason);
      // route new messages to the queue first, then collect the mailbox
      if (reg.begin_restart(id_, address()))
        reg.leave(id_, hand_over());
    }
    if (st_ != nullptr) {
      for (auto& [id, f] : st_->flights)
        if (!f.keyed || for_good)
          f.link->cancel();
      if (st_->watched)
        rt_.bus().forget(caf::actor_cast<caf::actor>(this));
    }
    // links hold this actor: drop them (and everything else) now, or the
    // actor would keep itself alive
    st_.reset();
    recovering_.reset();
    return caf::event_based_actor::cleanup(std::move(reason), host);
  }

private:
  void observe() {
    if (gauge_ != nullptr)
      gauge_->publish(mailbox().size());
  }

  session_state& state() {
    if (st_ == nullptr) {
      st_ = std::make_unique<session_state>(rt_);
      st_->engine.set_key(text_id());
    }
    return *st_;
  }

  /// Rebuilds the session's state from its checkpoint; false if there is
  /// none (the session never finished initialize).
  bool load_checkpoint() {
    auto cp = rt_.checkpoints().load(id_);
    if (cp.empty())
      return false;
    auto& st = state();
    if (!st.engine.restore(cp)) {
      st_.reset();
      return false;
    }
    st.saved_version = st.engine.state_version();
    return true;
  }

  /// Picks up the checkpoint and the handover a predecessor left.
  void restore() {
    if (rt_.server() == nullptr)
      return;
    recovering_ = rt_.registry().take_handover(id_);
    if (!load_checkpoint())
      return;
    auto& st = *st_;
    // Stream numbers of an actor that continues from a checkpoint alone
    // (its session was asleep, or lived on another node) start above any
    // its predecessors used, so that an old Last-Event-ID never names one
    // of its streams.
    st.streams.continue_numbering(cluster_clock_ms() * 1000);
    if (recovering_ != nullptr) {
      if (recovering_->streams)
        st.streams = std::move(*recovering_->streams);
      recovering_->streams.reset();
      st.single = std::move(recovering_->single);
      if (st.streams.standalone_attached() || st.single != nullptr
          || st.engine.subscribed_any())
        watch();
    }
  }

  /// Continues what the predecessor left: requests in flight are run again
  /// (read-only and idempotent ones) or answered with the restarted-session
  /// error, then the messages it had not taken are taken in order. Items
  /// are removed as they are handled, so a crash in the middle hands the
  /// rest on to the next actor.
  void recover() {
    auto& h = *recovering_;
    std::reverse(h.calls.begin(), h.calls.end());
    std::reverse(h.queued.begin(), h.queued.end());
    auto replayed = std::to_string(std::count_if(
      h.calls.begin(), h.calls.end(), [](auto& c) { return c.replay; }));
    // a new session's first messages wait in a handover too: only a
    // successor of an actor that stopped abnormally is a restart
    log::write(h.after_crash ? log::level::info : log::level::debug,
               h.after_crash ? "session restarted" : "session started",
               {{"session", text_id()}, {"calls_run_again", replayed},
                {"calls_in_flight", std::to_string(h.calls.size())},
                {"messages_queued", std::to_string(h.queued.size())}});
    while (!h.calls.empty()) {
      auto c = std::move(h.calls.back());
      h.calls.pop_back();
      if (st_ == nullptr || !st_->engine.initialized()) {
        if (c.in != nullptr && c.in->ch != nullptr)
          c.in->ch->send(restarted_error(c.id));
        continue;
      }
      if (c.replay && c.in != nullptr) {
        run(c.in);
      } else {
        auto r = restarted_error(c.id);
        emit(c.id, r.kind, std::move(r.json), true);
      }
    }
    while (!h.queued.empty()) {
      auto in = std::move(h.queued.back());
      h.queued.pop_back();
      take(in);
    }
    recovering_.reset();
  }

  /// Everything this actor holds that the next actor of the session needs:
  /// streams, requests in flight (the one that crashed is not run again),
  /// and messages still in the mailbox or not yet recovered.
  std::unique_ptr<session_handover> hand_over() {
    auto h = std::move(recovering_);
    if (h == nullptr)
      h = std::make_unique<session_handover>();
    h->after_crash = true;
    std::vector<inbound_ptr> queued;
    if (st_ != nullptr) {
      h->streams = std::move(st_->streams);
      h->single = st_->single;
      std::vector<session_handover::call> calls;
      for (auto& [id, f] : st_->flights) {
        bool crashed = id == st_->crashed || id == st_->running;
        calls.push_back({f.in, id, f.replay && !crashed});
      }
      // a request that crashed before it became a call is answered too
      auto& cur = st_->current;
      if (cur != nullptr && cur->msg != nullptr
          && cur->msg->kind == protocol::message_kind::request
          && st_->flights.count(cur->msg->id) == 0)
        calls.push_back({cur, cur->msg->id, false});
      // these come before what the predecessor had not recovered yet
      calls.insert(calls.end(), std::make_move_iterator(h->calls.begin()),
                   std::make_move_iterator(h->calls.end()));
      h->calls = std::move(calls);
    }
    queued = std::move(h->queued);
    h->queued.clear();
    drain_client_messages(*this, h->queued);
    // unrecovered messages are older than those in the mailbox
    queued.insert(queued.end(), std::make_move_iterator(h->queued.begin()),
                  std::make_move_iterator(h->queued.end()));
    // a message whose actors keep dying is answered instead of handed on
    h->queued.clear();
    for (auto& in : queued) {
      if (++in->attempts > max_attempts)
        in->refuse(503, "the session could not be reached; retry");
      else
        h->queued.push_back(std::move(in));
    }
    return h;
  }

  /// Times a message is handed to a session's next actor before it is
  /// answered with an error instead.
  static constexpr uint8_t max_attempts = 8;

  /// One structured log line for an abnormal exit. Sessions stopped because
  /// their shard restarts are not reported one by one: the shard's exit is.
  void report_crash(const caf::error& reason) {
    if (supervision::is(reason, supervision::sup_errc::shutdown))
      return;
    auto text = supervision::describe(reason);
    auto addr = rt_.registry().address_of(id_);
    auto path = "root/" + meta_shard_name(addr.meta) + "/" + shard_name(addr)
                + "/" + text_id();
    // the request that crashed: a call's, else the message being handled
    const inbound* culprit = st_ != nullptr ? st_->current.get() : nullptr;
    request_id request = culprit != nullptr && culprit->msg != nullptr
                           ? culprit->msg->id
                           : request_id{};
    if (auto id = st_ == nullptr            ? request_id{}
                  : !st_->crashed.empty() ? st_->crashed
                                          : st_->running;
        !id.empty()) {
      request = id;
      auto i = st_->flights.find(id);
      culprit = i != st_->flights.end() ? i->second.in.get() : nullptr;
    }
    std::string method;
    std::string target; // the tool or prompt name, or the URI
    if (culprit != nullptr && culprit->msg != nullptr) {
      method = std::string{culprit->msg->method};
      auto* p = culprit->msg->params;
      target = std::string{protocol::as_string(protocol::find_member(p, "name"))
                             .value_or(protocol::as_string(
                                         protocol::find_member(p, "uri"))
                                         .value_or(""))};
    }
    log::error("session stopped abnormally",
               {{"session", text_id()}, {"path", path},
                {"request", request.empty() ? std::string{} : request.to_json()},
                {"method", method}, {"target", target}, {"reason", text}});
  }

  /// What the admin API shows of this session. A sleeping session is
  /// described from its checkpoint and stays asleep.
  std::string describe() {
    std::optional<protocol::session> stored;
    const protocol::session* engine = st_ != nullptr ? &st_->engine : nullptr;
    if (asleep_ && rt_.server() != nullptr) {
      stored.emplace(*rt_.server());
      if (stored->restore(rt_.checkpoints().load(id_)))
        engine = &*stored;
    }
    return describe_engine(engine, asleep_, mailbox().size());
  }

  /// An idle session that holds nothing but what its checkpoint has (no
  /// call in flight, no open or replayable stream, no subscription to
  /// watch) drops its state: an idle session then costs its actor, its
  /// routing entry and its checkpoint. The next message rebuilds it.
  void sleep() {
    if (st_ == nullptr || recovering_ != nullptr)
      return;
    auto& st = *st_;
    if (!st.engine.initialized() || st.engine.calls_in_flight() > 0
        || !st.flights.empty() || !st.streams.empty() || st.single != nullptr
        || st.watched)
      return;
    save();
    next_stream_ = st.streams.next_stream();
    st_.reset();
    asleep_ = true;
    rt_.registry().set_asleep(id_, true);
    if (rt_.config().passivate && !migrating_) {
      // the actor goes too; cleanup leaves the session routed
      passivated_ = true;
      quit();
    }
  }

  void wake() {
    asleep_ = false;
    rt_.registry().set_asleep(id_, false);
    if (load_checkpoint())
      st_->streams.continue_numbering(next_stream_);
  }

  /// Takes one client message.
  void take(inbound_ptr& in) {
    if (asleep_)
      wake();
    switch (in->kind) {
      case inbound::kind_t::message:
        post(in);
        break;
      case inbound::kind_t::stream:
        get(std::move(in->ch), in->last_event_id);
        break;
      case inbound::kind_t::close:
        end("the session ended");
        break;
    }
  }

  /// Stores the engine's state outside the actor when it changed.
  void save() {
    auto v = st_->engine.state_version();
    if (v == st_->saved_version || !st_->engine.initialized())
      return;
    st_->saved_version = v;
    auto cp = st_->engine.checkpoint();
    if (auto* cl = rt_.clustered())
      cl->replicate(id_, cp);
    rt_.checkpoints().save(id_, cp);
  }

  void post(const inbound_ptr& in_ptr) {
    if (rt_.server() == nullptr)
      return;
    auto& in = *in_ptr;
    auto& st = state();
    auto& msg = *in.msg;
    if (in.single_channel)
      st.single = in.ch;
    bool initializing = msg.kind == protocol::message_kind::request
                        && msg.method == "initialize";
    if (msg.kind == protocol::message_kind::request && st.single == nullptr) {
      // a request sent again after the node it went through died, while
      // its first copy still runs here: its answer goes to the new exchange
      if (in.orphan && st.engine.in_flight(msg.id) && st.streams.rebind(msg.id, in.ch))
        return;
      if (st.engine.calls_in_flight() >= rt_.config().max_calls_per_session
          && !initializing) {
        in.ch->send(reply::error(msg.id, protocol::errc::internal_error,
                                 "too many requests in flight in this session"));
        return;
      }
      if (!initializing) {
        // a client that asked for progress gets a stream from the start
        st.streams.open_request(msg.id, in.ch,
                                protocol::primes_sse(st.engine.rev()),
                                msg.wants_progress());
      }
    }
    st.current = in_ptr;
    engine_output out;
    st.engine.receive(msg, out);
    if (initializing && st.single == nullptr) {
      // The answer to initialize carries the session id.
      for (auto& m : out.messages)
        if (m.final && m.stream == msg.id) {
          bool ok = m.kind == protocol::message_kind::result;
          in.ch->send(reply{m.kind, 200, std::move(m.json),
                            ok ? text_id() : std::string{}});
          m.json.clear();
        }
      if (!st.engine.initialized()) {
        st.current.reset();
        end("the session ended");
        return;
      }
    }
    route(out);
    save();
    st_->current.reset();
    // A session that was just set up usually waits a while for its first
    // call: it sleeps at once rather than after --sleep-after, so that a
    // burst of new sessions never holds all their state at the same time.
    if (msg.kind == protocol::message_kind::notification
        && msg.method == "notifications/initialized"
        && rt_.config().sleep_after.count() > 0)
      sleep();
  }

  /// Runs a request again after a restart: its stream is already open.
  void run(const inbound_ptr& in) {
    st_->current = in;
    engine_output out;
    st_->engine.receive(*in->msg, out);
    route(out);
    save();
    st_->current.reset();
  }

  void get(channel_ptr ch, const std::string& last_event_id) {
    if (st_ == nullptr || !st_->engine.initialized()) {
      ch->send(reply::error({}, protocol::errc::invalid_request,
                            "session not found", 404));
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
        ch->send(reply::error({}, protocol::errc::invalid_request,
                              "this session already has a GET stream", 409));
        break;
      case session_streams::attach_result::unknown_event:
        ch->send(reply::error({}, protocol::errc::invalid_request,
                              "Last-Event-ID names no stream of this session",
                              400));
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

  void emit(const request_id& stream, protocol::message_kind kind,
            std::string json, bool final, int http_status = 0) {
    if (json.empty())
      return;
    if (st_->single != nullptr)
      st_->single->event({}, kind, std::move(json));
    else if (stream.empty())
      st_->streams.deliver_standalone(kind, std::move(json));
    else
      st_->streams.deliver(stream, kind, std::move(json), final, http_status);
  }

  void route(engine_output& out) {
    for (auto& m : out.messages)
      emit(m.stream, m.kind, std::move(m.json), m.final, m.http_status);
    auto calls = std::move(out.calls);
    out.clear();
    for (auto& c : calls)
      start(c);
    if (!st_->watched && st_->engine.initialized()
        && (st_->engine.subscribed_any() || st_->single != nullptr))
      watch();
    // calls that are over (answered, cancelled, expired) release their link
    for (auto it = st_->flights.begin(); it != st_->flights.end();) {
      if (!st_->engine.in_flight(it->first)) {
        it->second.link->cancel();
        // a keyed run that ended without an answer (cancelled, timed out)
        // lets a retry run (nothing happens if its answer is stored)
        if (!it->second.owned_key.empty())
          forget_keyed(rt_, it->second.owned_key);
        it = st_->flights.erase(it);
      } else {
        ++it;
      }
    }
    schedule_tick();
    if (migrating_)
      try_migrate();
  }

  /// The node drains: once no call is in flight, the session moves to the
  /// node that would own it without this one (which holds its replica),
  /// and what reaches it here from now on follows it there. Its streams
  /// close, so that their clients resume through that node.
  void try_migrate() {
    auto* cl = rt_.clustered();
    if (migrated_ || cl == nullptr || ended_)
      return;
    if (st_ != nullptr
        && (!st_->flights.empty() || st_->engine.calls_in_flight() > 0 || st_->single != nullptr))
      return;
    auto view = cl->members();
    auto* to = view->successor(id_);
    if (to == nullptr || !to->router || to->state != cluster_member::state_t::up)
      return; // nowhere to go: it stays until the node stops
    if (st_ != nullptr)
      save();
    auto cp = rt_.checkpoints().load(id_);
    if (cp.empty()) {
      end("the session ended"); // it never finished initialize
      return;
    }
    cl->move_session(*to, id_, std::move(cp));
    moved_to_ = to->name;
    migrated_ = true;
    if (st_ != nullptr)
      st_->streams.close_all();
    quit();
  }

  /// After a move: forgets the session here, and sends what still reached
  /// this actor on to where it went.
  void hand_on() {
    auto* cl = rt_.clustered();
    auto left = rt_.registry().unregister_name(id_, address());
    rt_.checkpoints().erase(id_);
    std::vector<inbound_ptr> rest;
    if (left != nullptr)
      rest = std::move(left->queued);
    drain_client_messages(*this, rest);
    auto view = cl->members();
    auto* to = view->find(moved_to_);
    auto text = text_id();
    for (auto& in : rest)
      if (to == nullptr || !cl->forward(*to, text, *in, 0))
        in->refuse(503, "the session is moving to another node; retry");
  }

  void start(const call_ptr& call) {
    bool first = st_->flights.count(call->id()) == 0;
    if (st_->current != nullptr && st_->current->orphan && !call->replayable()
        && st_->flights.count(call->id()) == 0) {
      // it was sent to a node that died before it answered: as after a
      // crash, only read-only and idempotent calls run again
      engine_output out;
      st_->engine.cancel(call->id(), restarted_text, true, out);
      auto r = restarted_error(call->id());
      emit(call->id(), r.kind, std::move(r.json), true);
      return;
    }
    auto& f = st_->flights[call->id()];
    if (f.link == nullptr) {
      // the first round of this call: remember its request for a restart
      f.link = std::make_shared<call_link>(caf::actor_cast<caf::actor>(this),
                                           call->id(), nullptr);
      f.in = st_->current;
      f.replay = call->replayable();
      f.keyed = !call->idempotency_key().empty();
    }
    if (first && f.keyed && !start_keyed(call, f))
      return;
    auto& link = f.link;
    if (call->where() == protocol::execution::inline_call) {
      st_->running = call->id();
      // an exception here crashes this session, as it should
      auto held = run_inline(*call, link);
      st_->running = {};
      for (auto& n : held)
        emit(call->id(), protocol::message_kind::notification, std::move(n),
             false);
      engine_output out;
      st_->engine.finish(*call, out);
      route(out);
      return;
    }
    if (!submit_call(rt_.workers(), call, link,
                     caf::actor_cast<caf::actor>(this))) {
      engine_output out;
      st_->engine.cancel(call->id(), no_worker_text, false, out);
      route(out);
    }
  }

  /// The first round of a call with an idempotency key: false if it is
  /// answered without running (a stored answer, an error), or waits for
  /// the run in progress of its key (`f.waiting`; it stays in flight, so a
  /// crash or its deadline answers it as any call, and asks again every
  /// `keyed_poll`).
  bool start_keyed(const call_ptr& call, session_state::flight& f) {
    reply answer;
    switch (actors::start_keyed(rt_, call, answer)) {
      case keyed_start::run:
        f.waiting = nullptr;
        f.owned_key = call->idempotency_key();
        return true;
      case keyed_start::wait: {
        f.waiting = call;
        auto again = event::of(event::kind::again);
        again.id = call->id();
        caf::delayed_anon_send(caf::actor_cast<caf::actor>(this), keyed_poll,
                               event_atom::value, std::move(again));
        return false;
      }
      case keyed_start::answered:
        break;
    }
    f.waiting = nullptr;
    engine_output out;
    st_->engine.cancel(call->id(), {}, true, out);
    emit(call->id(), answer.kind, std::move(answer.json), true);
    return false;
  }

  /// A keyed call that waits asks again.
  void retry_keyed(const request_id& id) {
    auto it = st_->flights.find(id);
    if (it == st_->flights.end() || it->second.waiting == nullptr)
      return;
    auto call = it->second.waiting;
    if (start_keyed(call, it->second))
      start(call);
    engine_output none;
    route(none);
  }

  /// A timer for the earliest deadline; a later call with an earlier
  /// deadline gets a timer of its own (a stale one finds nothing to do).
  void schedule_tick() {
    auto next = st_->engine.next_deadline();
    if (!next || (st_->tick_at && *st_->tick_at <= *next))
      return;
    st_->tick_at = *next;
    auto now = std::chrono::steady_clock::now();
    auto delay = *next > now ? *next - now : std::chrono::steady_clock::duration{0};
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(this),
                           std::chrono::duration_cast<std::chrono::milliseconds>(delay)
                             + std::chrono::milliseconds{1},
                           event_atom::value, event::of(event::kind::tick));
  }

  /// Ends the session for good: calls in flight are answered with `why`,
  /// streams closed.
  void end(std::string_view why) {
    ended_ = true;
    if (st_ != nullptr) {
      engine_output out;
      for (auto& id : st_->engine.call_ids())
        st_->engine.cancel(id, why, false, out);
      for (auto& m : out.messages)
        emit(m.stream, m.kind, std::move(m.json), m.final);
      st_->streams.close_all();
      if (st_->single != nullptr)
        st_->single->close(); // stdio: nothing more comes
    }
    quit();
  }

  std::string text_id() const {
    return id_.to_string();
  }

  runtime& rt_;
  session_id id_;
  supervision::mailbox_gauge* gauge_;
  std::unique_ptr<session_state> st_;
  /// What the predecessor left, until `recover` has handled it.
  std::unique_ptr<session_handover> recovering_;
  /// Asleep (see `sleep`): the state is in the checkpoint only, and the
  /// next stream number is kept here.
  uint64_t next_stream_ = 1;
  bool asleep_ = false;
  bool ended_ = false;
  /// The node drains (see try_migrate), and where the session went.
  bool migrating_ = false;
  bool migrated_ = false;
  /// Asleep and gone (`--passivate`): the session stays in the registry.
  bool passivated_ = false;
  std::string moved_to_;
};

} // namespace

caf::expected<caf::actor> spawn_session(runtime& rt, const session_id& id,
                                        supervision::mailbox_gauge* gauge,
                                        const caf::message&) {
  // The actor starts lazily, on its first message, and is routed to before
  // it can run: a client that has its answer to initialize can always
  // reach the session. One with messages waiting in its slot (a new
  // session's initialize, or what a predecessor left) is woken at once to
  // answer them; an idle restarted session sleeps until a client needs it.
  auto& reg = rt.registry();
  auto handle = rt.system().spawn<session_actor, caf::lazy_init>(rt, id, gauge);
  if (reg.put(id, handle))
    rt.stats().restarted(metrics::level::session);
  // asked after the actor is routed to: a message queued before that
  // waits in the slot, and nothing else would wake the actor for it
  if (reg.has_handover(id))
    caf::anon_send(handle, event_atom::value, event::of(event::kind::recover));
  return handle;
}

void runtime::start_session(const session_id& id) {
  // a shard that is down starts it when it is back (restart_shard)
  if (auto sup = shards().get(registry().address_of(id)))
    caf::anon_send(sup, supervision::start_child_atom::value, id.to_string(),
                   caf::message{});
}

void runtime::forget_passive(const session_id& id) {
  checkpoints().erase(id);
  if (auto* cl = clustered(); cl != nullptr)
    cl->replicate_erase(id);
  for (auto& u : upstreams())
    u->session_ended(id.to_string());
}

std::string describe_passive(runtime& rt, const session_id& id) {
  if (rt.server() == nullptr)
    return describe_engine(nullptr, true, 0);
  protocol::session stored{*rt.server()};
  bool ok = stored.restore(rt.checkpoints().load(id));
  return describe_engine(ok ? &stored : nullptr, true, 0);
}

void crash(const caf::actor& target, std::string why) {
  caf::anon_send<caf::message_priority::high>(
    target, event_atom::value, event::of(event::kind::crash, std::move(why)));
}

void expire_session(const caf::actor& session) {
  caf::anon_send(session, event_atom::value, event::of(event::kind::close));
}

} // namespace mcpvisor::actors
