#include "actors/stateless.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>

#include "actors/call_link.hpp"
#include "actors/keyed_calls.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "actors/session.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace {

using protocol::engine_output;
using protocol::request_id;

/// Serves stateless requests: each is independent, so any of these actors
/// can take any request. The state here is only what is in flight.
class stateless_actor : public caf::event_based_actor {
public:
  stateless_actor(caf::actor_config& cfg, runtime& rt, size_t slot,
                  supervision::mailbox_gauge* gauge)
    : caf::event_based_actor(cfg),
      rt_(rt),
      slot_(slot),
      gauge_(gauge),
      runner_("stateless-" + std::to_string(slot)) {
    // nop
  }

  const char* name() const override {
    return "stateless";
  }

  caf::behavior make_behavior() override {
    supervision::keep_crash_text(this);
    adopt_orphans();
    // requests a crashed stateless actor left when no other one was live
    for (auto& in : rt_.take_parked_stateless())
      caf::anon_send(caf::actor_cast<caf::actor>(this), event_atom::value,
                     event::of(std::move(in)));
    return {
      // events come anonymously and are never answered: "delegated"
      // skips the (empty) answer CAF would otherwise prepare for each
      [this](event_atom, event& e) -> caf::result<void> {
        observe();
        handle(e);
        return caf::delegated<void>{};
      },
    };
  }

  void handle(event& e) {
    switch (e.what) {
      case event::kind::client:
        serve(e.in);
        return;
      case event::kind::call_done: {
        auto it = calls_.find(e.call.get());
        if (it == calls_.end())
          return;
        if (!it->second.task.empty()) {
          finish_task(e.call, it->second, e.text);
          return;
        }
        if (!e.text.empty()) {
          // The handler crashed: answer its request, then let this actor be
          // restarted by its supervisor like any crashed worker.
          it->second.ch->send(reply::error(e.call->id(),
                                           protocol::errc::internal_error,
                                           "the handler failed unexpectedly"));
          calls_.erase(it);
          throw std::runtime_error("handler of " + e.call->target()
                                   + " crashed: " + e.text);
        }
        finish(e.call, it->second);
        return;
      }
      case event::kind::notify:
        // by link: stateless clients' request ids need not differ
        for (auto& [ptr, c] : calls_)
          if (c.link.get() == e.source) {
            if (!c.task.empty())
              task_progress(c, e.text);
            else
              emit(c, protocol::message_kind::notification, e.text, false, 0);
          }
        return;
      case event::kind::task:
        resume_task(e.text);
        return;
      case event::kind::again:
        serve(e.in);
        return;
      case event::kind::tick:
        if (tick_at_ && std::chrono::steady_clock::now() >= *tick_at_)
          tick_at_.reset();
        expire_calls();
        return;
      case event::kind::crash:
        throw std::runtime_error(e.text);
      default:
        // 2026-07-28 streams are not resumable (close_stream): nothing to do
        return;
    }
  }

  void on_exit() override {
    // every request this actor took or was sent gets its one answer, and
    // every task it ran is run again elsewhere or ends failed
    std::vector<inbound_ptr> again;
    for (auto& [ptr, c] : calls_) {
      // a keyed call runs on, so that a retry finds its answer (a task's
      // key holds its CreateTaskResult: its round stops as any other)
      if (ptr->idempotency_key().empty() || rt_.stopping() || !c.task.empty())
        c.link->cancel();
      if (!c.task.empty()) {
        orphan_task(c.task);
        continue;
      }
      // a read-only or idempotent request nothing was sent for yet is
      // served again by another stateless actor (or by this one's successor)
      if (c.in != nullptr && ptr->replayable() && !c.streaming && !rt_.stopping()
          && c.ch->alive()) {
        again.push_back(std::move(c.in));
        continue;
      }
      emit(c, protocol::message_kind::error,
           protocol::encode_error(ptr->id(), protocol::errc::internal_error,
                                  restarted_text),
           true, 0);
    }
    calls_.clear();
    // nothing is sent here once the slot is clear: the mailbox then holds
    // all that is left to answer
    rt_.clear_stateless_actor_if(slot_, address());
    for (auto& in : again) {
      rt_.stats().stateless_run_again.fetch_add(1, std::memory_order_relaxed);
      if (!rt_.send_stateless(slot_ + 1, in))
        rt_.park_stateless(std::move(in));
    }
    std::vector<inbound_ptr> waiting;
    drain_client_messages(*this, waiting);
    for (auto& in : waiting)
      in->refuse(503, shutting_down_text);
  }

private:
  struct in_flight {
    call_ptr call;
    channel_ptr ch;
    std::shared_ptr<call_link> link;
    bool streaming = false;
    /// The task this call does the work of (no channel: its outcome goes
    /// to the task), or empty.
    std::string task;
    /// The request, to serve it again if this actor crashes first.
    inbound_ptr in;
  };

  void observe() {
    if (gauge_ != nullptr)
      gauge_->publish(mailbox().size());
  }

  /// Sends `json` for a request: one JSON body if it is the first and
  /// final message, an SSE stream otherwise.
  void emit(in_flight& c, protocol::message_kind kind, std::string json,
            bool final, int status) {
    if (!c.streaming && final) {
      c.ch->send(reply{kind, status == 0 ? 200 : status, std::move(json), {}});
      return;
    }
    if (!c.streaming) {
      c.streaming = true;
      c.ch->open_stream({}, 0);
    }
    c.ch->event({}, kind, std::move(json));
    if (final)
      c.ch->close();
  }

  void serve(const inbound_ptr& in) {
    auto headers = in->headers();
    engine_output out;
    protocol::serve_stateless(*rt_.server(), *in->msg,
                              in->has_headers ? &headers : nullptr, out);
    for (auto& id : out.cancels)
      for (auto& [ptr, c] : calls_)
        if (ptr->id() == id && c.ch == in->ch)
          c.link->cancel();
    in_flight first{nullptr, in->ch, nullptr, false};
    for (auto& m : out.messages)
      emit(first, m.kind, std::move(m.json), m.final && !out.subscribe,
           m.http_status);
    if (out.subscribe) {
      change_bus::listen_filter f{out.subscribe->tools, out.subscribe->prompts,
                                  out.subscribe->resources,
                                  std::move(out.subscribe->uris),
                                  std::move(out.subscribe->task_ids),
                                  std::move(out.subscribe->owner)};
      rt_.bus().listen(in->ch, out.subscribe->id, std::move(f));
    }
    if (out.task)
      serve_task(*out.task, in->ch);
    for (auto& call : out.calls) {
      if (!call->idempotency_key().empty() && !start_keyed(call, in))
        continue;
      if (call->as_task())
        create_task(call, in);
      else
        start(call, in, in->msg->wants_progress());
    }
  }

  /// A call with an idempotency key: false if it is answered without
  /// running (a stored answer, an error) or waits for the run in progress
  /// of its key (its request is served again a little later).
  bool start_keyed(const call_ptr& call, const inbound_ptr& in) {
    reply answer;
    auto verdict = actors::start_keyed(rt_, call, answer);
    if (verdict == keyed_start::run)
      return true;
    if (verdict == keyed_start::wait && may_wait(*in, call, answer)) {
      auto again = event::of(event::kind::again);
      again.in = in;
      delayed_anon_send(caf::actor_cast<caf::actor>(this), keyed_poll,
                        event_atom::value, std::move(again));
      return false;
    }
    in->ch->send(std::move(answer));
    return false;
  }

  // -- the tasks extension ------------------------------------------------------

  /// tasks/get, tasks/update, tasks/cancel; an update that answered all
  /// outstanding input runs the task's next round here.
  void serve_task(const engine_output::task_request& req, const channel_ptr& ch) {
    engine_output out;
    call_ptr next;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      next = protocol::serve_task_request(*rt_.server(), store.table, req,
                                          protocol::unix_ms(), out);
      if (next != nullptr)
        if (auto* t = store.table.at(req.task_id))
          t->runner = runner_;
    }
    in_flight first{nullptr, ch, nullptr, false, {}};
    for (auto& m : out.messages)
      emit(first, m.kind, std::move(m.json), m.final, m.http_status);
    announce(req.task_id);
    if (next != nullptr)
      run_task_round(req.task_id, next);
  }

  /// notifications/tasks to the streams listening to task `id`, if its
  /// status changed since the last one.
  void announce(const std::string& id) {
    std::string owner;
    std::string params;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      auto* t = store.table.at(id);
      if (t == nullptr || t->status == t->announced)
        return;
      t->announced = t->status;
      owner = t->owner;
      params = protocol::task_notification_params(*t);
    }
    rt_.bus().publish_task(id, owner, params);
  }

  /// A tools/call that runs as a task: the task is stored before the
  /// client hears of it, then its first round starts.
  void create_task(const call_ptr& call, const inbound_ptr& in) {
    auto& msg = *in->msg;
    auto request = protocol::encode_request(msg.id, "tools/call",
                                            protocol::to_json(*msg.params));
    std::string id;
    std::string answer;
    std::string refusal;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      auto made = store.table.create(msg.who != nullptr ? msg.who->subject : std::string{},
                                     call->target(), std::move(request),
                                     call->replayable(), protocol::unix_ms());
      if (made.t == nullptr)
        refusal = std::move(made.refusal);
      else {
        made.t->who = msg.who;
        made.t->call = call;
        made.t->runner = runner_;
        id = made.t->id;
        answer = protocol::encode_result(
          msg.id, protocol::create_task_result(*made.t, rt_.server()->result_meta_json()));
      }
    }
    if (!refusal.empty()) {
      if (!call->idempotency_key().empty())
        forget_keyed(rt_, call->idempotency_key());
      in->ch->send(reply::error(msg.id, protocol::errc::internal_error, refusal, 429));
      return;
    }
    if (!call->idempotency_key().empty())
      finish_keyed(rt_, call, answer);
    in->ch->send(reply{protocol::message_kind::result, 200, answer, {}});
    run_task_round(id, call);
  }

  /// Runs one round of task `id` on a worker (or inline); its outcome goes
  /// to the task when the round ends.
  void run_task_round(const std::string& id, const call_ptr& call) {
    auto self = caf::actor_cast<caf::actor>(this);
    auto link = std::make_shared<call_link>(self, call->id(), nullptr);
    // progress reports become the task's status message
    if (!call->context().has_progress_token())
      call->context().set_progress_token(protocol::request_id{id});
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      auto* t = store.table.at(id);
      if (t == nullptr || protocol::is_terminal(t->status) || t->call != call)
        return;
      t->stop = [link] { link->cancel(); };
    }
    auto& c = calls_[call.get()];
    c = in_flight{call, nullptr, link, false, id};
    if (call->where() == protocol::execution::inline_call) {
      for (auto& n : run_inline(*call, link))
        task_progress(c, n);
      if (!call->deferred())
        finish_task(call, c, {});
      else
        schedule_tick();
      return;
    }
    if (!submit_call(rt_.workers(), call, link, self)) {
      end_task(id, call, protocol::errc::internal_error, std::string{no_worker_text});
      calls_.erase(call.get());
      return;
    }
    schedule_tick();
  }

  /// A round of a task ended (`crash`: the text of an exception that
  /// escaped the handler, which then crashes this actor as any handler
  /// crash does).
  void finish_task(const call_ptr& call, in_flight& c, const std::string& crash) {
    if (crash.empty() && call->deferred()) {
      schedule_tick(); // the round ends later, with another call_done
      return;
    }
    auto id = c.task;
    c.link->release();
    calls_.erase(call.get());
    if (!crash.empty()) {
      end_task(id, call, protocol::errc::internal_error,
               "the handler failed unexpectedly: " + crash);
      throw std::runtime_error("handler of " + call->target()
                               + " (task) crashed: " + crash);
    }
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      if (auto* t = store.table.at(id))
        protocol::finish_task_round(*rt_.server(), *t, *call, protocol::unix_ms());
    }
    announce(id);
  }

  /// Ends task `id` failed if `call` still does its work.
  void end_task(const std::string& id, const call_ptr& call, int code,
                const std::string& why) {
    call->context().finish();
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      if (auto* t = store.table.at(id); t != nullptr && t->call == call)
        protocol::task_table::fail(*t, code, why, protocol::unix_ms());
    }
    announce(id);
  }

  void task_progress(in_flight& c, const std::string& notification) {
    auto text = protocol::progress_text(notification);
    if (!text)
      return;
    auto& store = rt_.tasks();
    std::lock_guard<std::mutex> guard{store.mtx};
    if (auto* t = store.table.at(c.task); t != nullptr && t->call == c.call)
      protocol::task_table::progress(*t, std::move(*text), protocol::unix_ms());
  }

  /// This actor stops with task `id`'s round in flight: a read-only or
  /// idempotent task is run again from its request by another stateless
  /// actor (or by the next one to start); any other ends failed, since
  /// running it twice could do its work twice.
  void orphan_task(const std::string& id) {
    bool again = false;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      auto* t = store.table.at(id);
      if (t == nullptr || protocol::is_terminal(t->status))
        return;
      if (t->replayable && !rt_.stopping()) {
        t->call.reset();
        t->stop = nullptr;
        t->runner.clear();
        again = true;
      } else {
        protocol::task_table::fail(
          *t, protocol::errc::internal_error,
          rt_.stopping()
            ? "the server stopped while the task ran"
            : "the actor running the task crashed; the tool is neither "
              "read-only nor idempotent, so it was not run again",
          protocol::unix_ms());
      }
    }
    if (again)
      rt_.send_stateless(slot_ + 1, event::of(event::kind::task, id));
    else
      announce(id);
  }

  /// Takes over task `id` if it has no runner, and runs it from the start.
  void resume_task(const std::string& id) {
    call_ptr call;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      auto* t = store.table.at(id);
      if (t == nullptr || protocol::is_terminal(t->status) || !t->runner.empty()
          || t->call != nullptr)
        return;
      call = protocol::rebuild_task_call(*rt_.server(), *t, protocol::unix_ms());
      if (call != nullptr) {
        t->call = call;
        t->runner = runner_;
        t->status = protocol::task_status::working;
        ++t->runs;
      }
    }
    if (call == nullptr) {
      announce(id); // failed: its tool is gone
      return;
    }
    rt_.stats().tasks_run_again.fetch_add(1, std::memory_order_relaxed);
    run_task_round(id, call);
  }

  /// Tasks whose runner crashed when no other stateless actor was there
  /// to take them.
  void adopt_orphans() {
    std::vector<std::string> orphans;
    {
      auto& store = rt_.tasks();
      std::lock_guard<std::mutex> guard{store.mtx};
      store.table.for_each([&](const protocol::task& t) {
        if (!protocol::is_terminal(t.status) && t.runner.empty() && t.call == nullptr)
          orphans.push_back(t.id);
      });
    }
    for (auto& id : orphans)
      resume_task(id);
  }

  void start(const call_ptr& call, const inbound_ptr& in, bool stream_now) {
    auto self = caf::actor_cast<caf::actor>(this);
    const auto& ch = in->ch;
    auto link = std::make_shared<call_link>(self, call->id(), ch);
    auto& c = calls_[call.get()];
    c = in_flight{call, ch, link, false, {}, call->replayable() ? in : nullptr};
    if (stream_now) {
      // the client asked for progress: a stream from the start
      c.streaming = true;
      ch->open_stream({}, 0);
    }
    if (call->where() == protocol::execution::inline_call) {
      for (auto& n : run_inline(*call, link))
        emit(c, protocol::message_kind::notification, std::move(n), false, 0);
      if (!call->deferred()) {
        finish(call, c);
        return;
      }
      // the round ends later (a call_done event); until then it has a
      // deadline like a worker's
      schedule_tick();
      return;
    }
    if (!submit_call(rt_.workers(), call, link, self)) {
      if (!call->idempotency_key().empty())
        forget_keyed(rt_, call->idempotency_key());
      ch->send(reply::error(call->id(), protocol::errc::internal_error,
                            no_worker_text, 503));
      calls_.erase(call.get());
      return;
    }
    schedule_tick();
  }

  /// Worker calls past their deadline are answered now, even if their
  /// handler never returns (it is told to stop; a stuck one is left to
  /// the worker pool's watchdog).
  void expire_calls() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->first->deadline() > now) {
        ++it;
        continue;
      }
      it->second.link->cancel();
      if (!it->second.task.empty()) {
        end_task(it->second.task, it->second.call, protocol::errc::internal_error,
                 "the task's handler timed out");
        it = calls_.erase(it);
        continue;
      }
      emit(it->second, protocol::message_kind::error,
           protocol::encode_error(it->first->id(), protocol::errc::internal_error,
                                  "the request timed out"),
           true, 0);
      it = calls_.erase(it);
    }
    schedule_tick();
  }

  /// A timer for the earliest deadline of the calls in flight (a stale
  /// one that arrives later finds nothing to expire).
  void schedule_tick() {
    if (calls_.empty())
      return;
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto& [ptr, c] : calls_)
      next = std::min(next, ptr->deadline());
    if (next == std::chrono::steady_clock::time_point::max()
        || (tick_at_ && *tick_at_ <= next))
      return;
    tick_at_ = next;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      next - std::chrono::steady_clock::now());
    delayed_anon_send(caf::actor_cast<caf::actor>(this),
                      std::max(left, std::chrono::milliseconds{0})
                        + std::chrono::milliseconds{1},
                      event_atom::value, event::of(event::kind::tick));
  }

  void finish(const call_ptr& call, in_flight& c) {
    engine_output out;
    protocol::finish_stateless(*rt_.server(), *call, out);
    if (c.ch->alive())
      for (auto& m : out.messages)
        emit(c, m.kind, std::move(m.json), m.final, m.http_status);
    c.link->release();
    calls_.erase(call.get());
  }

  runtime& rt_;
  size_t slot_;
  supervision::mailbox_gauge* gauge_;
  std::string runner_;
  std::map<const protocol::pending_call*, in_flight> calls_;
  std::optional<std::chrono::steady_clock::time_point> tick_at_;
};

} // namespace

bool runtime::send_stateless(size_t start, event e) {
  auto n = cfg_.stateless_actors;
  for (size_t k = 0; k < n; ++k) {
    auto& s = stateless_[(start + k) % n];
    std::lock_guard<std::mutex> guard{s.mtx};
    if (s.actor) {
      caf::anon_send(s.actor, event_atom::value, std::move(e));
      return true;
    }
  }
  return false;
}

bool runtime::send_stateless(size_t start, inbound_ptr& in) {
  auto n = cfg_.stateless_actors;
  for (size_t k = 0; k < n; ++k) {
    auto& s = stateless_[(start + k) % n];
    std::lock_guard<std::mutex> guard{s.mtx};
    if (s.actor) {
      caf::anon_send(s.actor, event_atom::value, event::of(std::move(in)));
      return true;
    }
  }
  return false;
}

supervision::child_spec stateless_supervisor(runtime& rt) {
  namespace sup = supervision;
  sup::supervisor_spec spec;
  spec.id = "stateless";
  spec.flags = {sup::strategy::one_for_one, 10, std::chrono::seconds{10}};
  spec.gauges = &rt.stateless_gauges();
  for (size_t i = 0; i < rt.config().stateless_actors; ++i) {
    sup::child_spec c;
    c.id = "stateless-" + std::to_string(i);
    c.restart = sup::restart_type::permanent;
    c.shutdown = sup::shutdown_policy::timeout(std::chrono::seconds{5});
    c.start = [&rt, i](const sup::start_context& ctx) -> caf::expected<caf::actor> {
      auto h = rt.system().spawn<stateless_actor>(rt, i, ctx.gauge);
      rt.set_stateless_actor(i, h);
      h->attach_functor([&rt, i, who = h.address()] {
        rt.clear_stateless_actor_if(i, who);
      });
      return h;
    };
    spec.children.push_back(std::move(c));
  }
  return sup::supervisor_child("stateless", [spec](const sup::start_context&) {
    return spec;
  });
}

} // namespace mcpvisor::actors
