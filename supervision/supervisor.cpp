#include "supervision/supervisor.hpp"

#include <deque>
#include <list>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "supervision/errors.hpp"
#include "supervision/restart_intensity.hpp"

namespace mcpvisor::supervision {

// -- free functions -----------------------------------------------------------

const char* to_name(strategy s) noexcept {
  switch (s) {
    case strategy::one_for_one: return "one_for_one";
    case strategy::one_for_all: return "one_for_all";
    case strategy::rest_for_one: return "rest_for_one";
    case strategy::simple_one_for_one: return "simple_one_for_one";
  }
  return "unknown";
}

const char* to_name(event_kind k) noexcept {
  switch (k) {
    case event_kind::child_started: return "child_started";
    case event_kind::child_exited: return "child_exited";
    case event_kind::child_stopped: return "child_stopped";
    case event_kind::child_restarted: return "child_restarted";
    case event_kind::child_start_failed: return "child_start_failed";
    case event_kind::intensity_exceeded: return "intensity_exceeded";
    case event_kind::supervisor_stopped: return "supervisor_stopped";
  }
  return "unknown";
}

caf::error validate(const child_spec& spec) {
  if (spec.id.empty())
    return make_error(sup_errc::invalid_spec, "child spec without id");
  if (!spec.start)
    return make_error(sup_errc::invalid_spec,
                      "child " + spec.id + " has no start function");
  if (spec.shutdown.how == shutdown_policy::mode::timeout
      && spec.shutdown.after.count() <= 0)
    return make_error(sup_errc::invalid_spec,
                      "child " + spec.id + " has a shutdown timeout <= 0");
  return {};
}

caf::error validate(const supervisor_spec& spec) {
  if (spec.flags.intensity < 0)
    return make_error(sup_errc::invalid_spec,
                      "supervisor " + spec.id + ": negative intensity");
  if (spec.flags.period.count() <= 0)
    return make_error(sup_errc::invalid_spec,
                      "supervisor " + spec.id + ": period must be positive");
  if (spec.flags.how == strategy::simple_one_for_one
      && spec.children.size() != 1)
    return make_error(sup_errc::invalid_spec,
                      "supervisor " + spec.id
                        + ": simple_one_for_one needs exactly one child spec");
  std::unordered_set<std::string> ids;
  for (const auto& child : spec.children) {
    if (auto err = validate(child))
      return err;
    if (!ids.insert(child.id).second)
      return make_error(sup_errc::duplicate_id,
                        "supervisor " + spec.id + ": duplicate child id "
                          + child.id);
  }
  return {};
}

namespace {

using clock = std::chrono::steady_clock;
using stop_timeout_atom = caf::atom_constant<caf::atom("stoptimeo")>;
using retry_restart_atom = caf::atom_constant<caf::atom("retryrest")>;

/// Bookkeeping for one child. Kept small: a shard holds one per session.
struct child {
  const child_spec* spec = nullptr;
  caf::message args;
  caf::actor handle;
  mailbox_gauge* gauge = nullptr;
  caf::error last_exit;
  uint32_t restarts = 0;
  /// Bumped whenever `handle` stops being the child's live actor, so that a
  /// reaction queued for an older incarnation is recognised and dropped.
  uint32_t incarnation = 0;
};

using entry = std::pair<const std::string, child>;
using done_fn = std::function<void()>;
/// Runs when a child that was asked to stop is down, with its exit reason.
using stopped_fn = std::function<void(const caf::error&)>;
using started_fn = std::function<void(caf::error)>;

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_spec spec)
    : caf::event_based_actor(cfg),
      id_(std::move(spec.id)),
      flags_(spec.flags),
      gauges_(spec.gauges),
      observer_(std::move(spec.observer)),
      intensity_(spec.flags.intensity, spec.flags.period) {
    if (simple()) {
      template_ = std::move(spec.children.front());
      return;
    }
    for (auto& cs : spec.children) {
      specs_.push_back(std::move(cs));
      add_entry(specs_.back(), specs_.back().id, caf::message{});
    }
  }

  const char* name() const override {
    return "supervisor";
  }

  caf::behavior make_behavior() override {
    keep_crash_text(this);
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    set_exit_handler([this](caf::exit_msg& em) {
      if (!em.reason || em.reason == caf::exit_reason::normal)
        return;
      run([this, reason = em.reason] { shut_down(reason); });
    });
    start_initial_children();
    return {
      [this](start_child_atom, child_spec& spec) {
        observe_mailbox();
        auto rp = make_response_promise();
        serve(rp, [this, rp, spec = std::move(spec)]() mutable {
          add_child(std::move(spec), rp);
        });
        return rp;
      },
      [this](start_child_atom, std::string& id, caf::message& args) {
        observe_mailbox();
        auto rp = make_response_promise();
        serve(rp, [this, rp, id = std::move(id), args = std::move(args)]() mutable {
          add_dynamic_child(std::move(id), std::move(args), rp);
        });
        return rp;
      },
      [this](terminate_child_atom, std::string& id) {
        observe_mailbox();
        auto rp = make_response_promise();
        serve(rp, [this, rp, id = std::move(id)]() mutable {
          terminate_child(id, rp);
        });
        return rp;
      },
      [this](restart_child_atom, std::string& id) {
        observe_mailbox();
        auto rp = make_response_promise();
        serve(rp, [this, rp, id = std::move(id)]() mutable {
          restart_child(id, rp);
        });
        return rp;
      },
      [this](delete_child_atom, std::string& id) {
        observe_mailbox();
        auto rp = make_response_promise();
        serve(rp, [this, rp, id = std::move(id)]() mutable {
          delete_child(id, rp);
        });
        return rp;
      },
      [this](which_children_atom) { return which_children(); },
      [this](count_children_atom) { return count_children(); },
      [this](snapshot_atom, const snapshot_options& opts) {
        observe_mailbox();
        return snapshot(opts);
      },
      [this](await_start_atom) {
        auto rp = make_response_promise();
        // A failed start answers only once the children that did start
        // are stopped again (see start_initial_children).
        if (started_)
          rp.deliver(ok_atom::value);
        else
          start_waiters_.push_back(rp);
        return rp;
      },
      [this](stop_timeout_atom, caf::actor_id aid) {
        // The child did not stop within its shutdown timeout: kill it.
        if (auto i = stopping_.find(aid); i != stopping_.end())
          send_exit(i->second.handle, caf::exit_reason::kill);
      },
      [this](retry_restart_atom, std::string& id) {
        run([this, id = std::move(id)] {
          if (shutting_down_)
            return;
          if (auto* e = find(id); e != nullptr && !e->second.handle)
            restart(*e);
        });
      },
    };
  }

  void on_exit() override {
    // Reached when the supervisor quits, including when it is killed: no
    // child outlives it.
    shutting_down_ = true;
    auto kill = [](const caf::actor& h) {
      if (h)
        caf::anon_send_exit(h, caf::exit_reason::kill);
    };
    for (auto& e : ordered_)
      kill(e.second.handle);
    for (auto& e : dynamic_)
      kill(e.second.handle);
    for (auto& kv : stopping_)
      kill(kv.second.handle);
    // Requests that waited behind the last operation get their error now.
    auto queued = std::move(deferred_);
    for (auto& f : queued)
      f();
    for (auto& rp : start_waiters_)
      rp.deliver(start_error_ ? start_error_
                              : make_error(sup_errc::shutting_down, id_));
    start_waiters_.clear();
    if (gauges_ != nullptr) {
      for (auto& e : ordered_)
        gauges_->release(e.second.gauge);
      for (auto& e : dynamic_)
        gauges_->release(e.second.gauge);
    }
    ordered_.clear();
    dynamic_.clear();
    by_actor_.clear();
    stopping_.clear();
    observer_ = nullptr;
  }

private:
  // -- properties -------------------------------------------------------------

  bool simple() const noexcept {
    return flags_.how == strategy::simple_one_for_one;
  }

  entry* find(const std::string& id) {
    if (simple()) {
      auto i = dynamic_.find(id);
      return i == dynamic_.end() ? nullptr : &*i;
    }
    for (auto& e : ordered_)
      if (e.first == id)
        return &e;
    return nullptr;
  }

  /// Ids in start order (static strategies) or in table order (simple).
  std::vector<std::string> ids_in_start_order() const {
    std::vector<std::string> ids;
    if (simple()) {
      ids.reserve(dynamic_.size());
      for (auto& e : dynamic_)
        ids.push_back(e.first);
    } else {
      for (auto& e : ordered_)
        ids.push_back(e.first);
    }
    return ids;
  }

  void observe_mailbox() {
    auto depth = mailbox().size();
    if (depth > mailbox_peak_)
      mailbox_peak_ = depth;
  }

  void emit(event_kind kind, const std::string& child_id,
            caf::error reason = caf::error{}) {
    if (observer_)
      send(observer_, supervisor_event_atom::value,
           supervisor_event{kind, id_, child_id, std::move(reason)});
  }

  // -- child table ------------------------------------------------------------

  entry& add_entry(const child_spec& spec, std::string id, caf::message args) {
    child c;
    c.spec = &spec;
    c.args = std::move(args);
    if (gauges_ != nullptr)
      c.gauge = gauges_->acquire();
    if (simple())
      return *dynamic_.emplace(std::move(id), std::move(c)).first;
    ordered_.emplace_back(std::move(id), std::move(c));
    return ordered_.back();
  }

  /// Forgets a child that is not running, and its spec.
  void remove_entry(const std::string& id) {
    auto* e = find(id);
    if (e == nullptr)
      return;
    if (gauges_ != nullptr)
      gauges_->release(e->second.gauge);
    if (simple()) {
      dynamic_.erase(id);
      return;
    }
    const child_spec* spec = e->second.spec;
    ordered_.remove_if([&](const entry& x) { return x.first == id; });
    specs_.remove_if([&](const child_spec& x) { return &x == spec; });
  }

  /// Marks the child as no longer running (its actor exited or is being
  /// stopped) and returns the handle it had.
  caf::actor detach(child& c) {
    auto h = std::move(c.handle);
    c.handle = nullptr;
    by_actor_.erase(h.id());
    ++c.incarnation;
    return h;
  }

  // -- serializing multi-step operations --------------------------------------

  /// Runs `f` now, or after the operation in progress finished. Stopping
  /// children is asynchronous (it waits for their down messages); requests and
  /// restart decisions that arrive meanwhile wait here, so the supervisor
  /// behaves as OTP's, which blocks while it stops a child.
  void run(std::function<void()> f) {
    if (busy_)
      deferred_.push_back(std::move(f));
    else
      f();
  }

  /// Like `run`, but a request that arrives while the supervisor is shutting
  /// down is refused at once instead of waiting for the shutdown to end.
  void serve(caf::response_promise& rp, std::function<void()> f) {
    if (!refuse_if_stopping(rp))
      run(std::move(f));
  }

  void begin_op() {
    busy_ = true;
  }

  void end_op() {
    busy_ = false;
    if (draining_)
      return;
    draining_ = true;
    while (!busy_ && !deferred_.empty()) {
      auto f = std::move(deferred_.front());
      deferred_.pop_front();
      f();
    }
    draining_ = false;
  }

  // -- starting ---------------------------------------------------------------

  /// Starts one child. A supervisor child counts as started once it answered
  /// `await_start` if `await_ack` is set; otherwise (restarts) a failure to
  /// start shows up as its exit and is handled as a crash, counted against
  /// the intensity, as OTP retries a failed restart.
  void start_one(entry& e, bool await_ack, started_fn done) {
    auto& c = e.second;
    const std::string& id = e.first;
    if (c.gauge != nullptr)
      c.gauge->reset();
    start_context ctx{system(), id, c.args, c.gauge};
    caf::expected<caf::actor> res{caf::actor{}};
    try {
      res = c.spec->start(ctx);
    } catch (const std::exception& ex) {
      res = make_error(sup_errc::crashed, ex.what());
    }
    if (res && !*res)
      res = make_error(sup_errc::start_failed, "start function returned no actor");
    if (!res) {
      done(make_error(sup_errc::start_failed,
                      "child " + id + ": " + describe(res.error())));
      return;
    }
    c.handle = std::move(*res);
    monitor(c.handle);
    by_actor_[c.handle.id()] = &e;
    if (!await_ack || c.spec->kind != child_kind::supervisor) {
      done(caf::error{});
      return;
    }
    auto incarnation = c.incarnation;
    request(c.handle, caf::infinite, await_start_atom::value)
      .then([done](ok_atom) { done(caf::error{}); },
            [this, done, id, incarnation](caf::error& err) {
              // The child supervisor failed and is exiting: its down message
              // must not be taken for a crash to restart. If it exited before
              // it could answer, the reason is in its down message.
              auto fail = [done, id](const caf::error& why) {
                done(make_error(sup_errc::start_failed,
                                "child " + id + ": " + describe(why)));
              };
              auto* e2 = find(id);
              if (e2 == nullptr || e2->second.incarnation != incarnation
                  || !e2->second.handle) {
                if (e2 != nullptr)
                  ++e2->second.incarnation;
                fail(err);
                return;
              }
              auto h = detach(e2->second);
              if (err == caf::sec::request_receiver_down) {
                stopping_.emplace(h.id(), pending_stop{h, fail});
              } else {
                stopping_.emplace(h.id(),
                                  pending_stop{h, [](const caf::error&) {}});
                fail(err);
              }
            });
  }

  void start_in_order(std::shared_ptr<std::vector<std::string>> ids, size_t i,
                      started_fn done) {
    if (i == ids->size()) {
      done(caf::error{});
      return;
    }
    auto* e = find((*ids)[i]);
    if (e == nullptr) {
      start_in_order(std::move(ids), i + 1, std::move(done));
      return;
    }
    start_one(*e, true, [this, ids, i, done](caf::error err) {
      const auto& id = (*ids)[i];
      if (err) {
        emit(event_kind::child_start_failed, id, err);
        done(std::move(err));
        return;
      }
      emit(event_kind::child_started, id);
      start_in_order(ids, i + 1, done);
    });
  }

  void start_initial_children() {
    begin_op();
    auto ids = std::make_shared<std::vector<std::string>>(ids_in_start_order());
    start_in_order(ids, 0, [this](caf::error err) {
      if (!err) {
        started_ = true;
        for (auto& rp : start_waiters_)
          rp.deliver(ok_atom::value);
        start_waiters_.clear();
        end_op();
        return;
      }
      // Stop what already started (in reverse) and fail with the reason
      // naming the child.
      start_error_ = err;
      shutting_down_ = true;
      stop_all([this, err] {
        for (auto& rp : start_waiters_)
          rp.deliver(err);
        start_waiters_.clear();
        emit(event_kind::supervisor_stopped, "", err);
        quit(err);
      });
    });
  }

  // -- stopping ---------------------------------------------------------------

  struct pending_stop {
    caf::actor handle;
    stopped_fn done;
  };

  /// Stops one child by its shutdown policy; `done` runs once its down
  /// message arrived (at once if it was not running). A child stopped for
  /// good (terminate_child) is asked with `exit_reason::user_shutdown`; one
  /// stopped because this supervisor stops or restarts a group is asked
  /// with `sup_errc::shutdown`, so that it can tell the two apart.
  void stop_one(entry& e, done_fn done, bool for_good = false) {
    auto& c = e.second;
    if (!c.handle) {
      done();
      return;
    }
    auto h = detach(c);
    auto aid = h.id();
    const auto& policy = c.spec->shutdown;
    switch (policy.how) {
      case shutdown_policy::mode::brutal_kill:
        send_exit(h, caf::exit_reason::kill);
        break;
      case shutdown_policy::mode::timeout:
        send_exit(h, stop_reason(for_good));
        delayed_send(this, policy.after, stop_timeout_atom::value, aid);
        break;
      case shutdown_policy::mode::infinity:
        send_exit(h, stop_reason(for_good));
        break;
    }
    stopping_.emplace(aid, pending_stop{std::move(h), [done = std::move(done)](
                                                        const caf::error&) {
                                          done();
                                        }});
  }

  caf::error stop_reason(bool for_good) const {
    if (for_good)
      return caf::exit_reason::user_shutdown;
    return make_error(sup_errc::shutdown, "stopped by supervisor " + id_);
  }

  /// Stops the listed children one after the other, in the order given.
  void stop_in_order(std::shared_ptr<std::vector<std::string>> ids, size_t i,
                     done_fn done) {
    for (; i < ids->size(); ++i) {
      auto* e = find((*ids)[i]);
      if (e == nullptr || !e->second.handle)
        continue;
      stop_one(*e, [this, ids, i, done] {
        emit(event_kind::child_stopped, (*ids)[i]);
        stop_in_order(ids, i + 1, done);
      });
      return;
    }
    done();
  }

  /// Stops every child: in reverse start order, or in parallel under
  /// simple_one_for_one.
  void stop_all(done_fn done) {
    if (!simple()) {
      auto ids = ids_in_start_order();
      auto reversed = std::make_shared<std::vector<std::string>>(ids.rbegin(),
                                                                 ids.rend());
      stop_in_order(reversed, 0, std::move(done));
      return;
    }
    auto remaining = std::make_shared<size_t>(0);
    for (auto& e : dynamic_)
      if (e.second.handle)
        ++*remaining;
    if (*remaining == 0) {
      done();
      return;
    }
    for (auto& e : dynamic_) {
      if (!e.second.handle)
        continue;
      stop_one(e, [remaining, done] {
        if (--*remaining == 0)
          done();
      });
    }
  }

  /// Stops all children and exits with `reason`.
  void shut_down(caf::error reason) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    begin_op();
    stop_all([this, reason] {
      emit(event_kind::supervisor_stopped, "", reason);
      quit(reason);
    });
  }

  // -- exits and restarts -----------------------------------------------------

  void on_down(caf::down_msg& dm) {
    observe_mailbox();
    auto aid = dm.source.id();
    if (auto i = stopping_.find(aid); i != stopping_.end()) {
      auto done = std::move(i->second.done);
      stopping_.erase(i);
      done(dm.reason);
      return;
    }
    auto j = by_actor_.find(aid);
    if (j == by_actor_.end())
      return; // an actor we no longer track
    entry& e = *j->second;
    detach(e.second);
    if (!is_normal_exit(dm.reason))
      e.second.last_exit = dm.reason;
    emit(event_kind::child_exited, e.first, dm.reason);
    run([this, id = e.first, incarnation = e.second.incarnation,
         reason = std::move(dm.reason)] {
      handle_exit(id, incarnation, reason);
    });
  }

  /// Decides whether a child that exited by itself is restarted.
  void handle_exit(const std::string& id, uint32_t incarnation,
                   const caf::error& reason) {
    if (shutting_down_)
      return;
    auto* e = find(id);
    if (e == nullptr || e->second.incarnation != incarnation
        || e->second.handle)
      return; // restarted or removed meanwhile
    switch (e->second.spec->restart) {
      case restart_type::temporary:
        remove_entry(id);
        return;
      case restart_type::transient:
        if (is_normal_exit(reason)) {
          if (simple())
            remove_entry(id);
          return;
        }
        break;
      case restart_type::permanent:
        break;
    }
    restart(*e);
  }

  /// Restarts `e` (and, by the strategy, its siblings) after counting the
  /// restart against the intensity.
  void restart(entry& e) {
    if (!intensity_.add(clock::now())) {
      auto text = "reached max restart intensity ("
                  + std::to_string(flags_.intensity) + " in "
                  + std::to_string(flags_.period.count())
                  + " ms); last exit: child " + e.first;
      emit(event_kind::intensity_exceeded, e.first, e.second.last_exit);
      shut_down(make_error(sup_errc::shutdown, id_ + ": " + text));
      return;
    }
    ++total_restarts_;
    switch (flags_.how) {
      case strategy::one_for_one:
      case strategy::simple_one_for_one:
        restart_group({e.first}, e.first);
        return;
      case strategy::one_for_all:
        restart_group(ids_in_start_order(), e.first);
        return;
      case strategy::rest_for_one: {
        auto all = ids_in_start_order();
        std::vector<std::string> rest;
        bool found = false;
        for (auto& id : all) {
          found = found || id == e.first;
          if (found)
            rest.push_back(id);
        }
        restart_group(std::move(rest), e.first);
        return;
      }
    }
  }

  /// Stops the running members of `group` in reverse order, then starts the
  /// group in start order. Temporary children that were stopped are
  /// forgotten, as OTP does. If a start fails, the failed child is retried
  /// later (a new restart, counted against the intensity).
  void restart_group(std::vector<std::string> group, const std::string& failed) {
    begin_op();
    auto reversed = std::make_shared<std::vector<std::string>>(group.rbegin(),
                                                               group.rend());
    stop_in_order(reversed, 0, [this, group = std::move(group), failed] {
      for (const auto& id : group) {
        auto* e = find(id);
        if (e == nullptr || e->second.handle)
          continue;
        if (id != failed
            && e->second.spec->restart == restart_type::temporary) {
          remove_entry(id);
          continue;
        }
        ++e->second.restarts;
        caf::error err;
        start_one(*e, false, [&err](caf::error x) { err = std::move(x); });
        if (err) {
          emit(event_kind::child_start_failed, id, err);
          e->second.last_exit = err;
          send(this, retry_restart_atom::value, id);
          break;
        }
        emit(event_kind::child_restarted, id);
      }
      end_op();
    });
  }

  // -- requests ---------------------------------------------------------------

  /// Answers `rp` with an error and returns true if no request can be served.
  bool refuse_if_stopping(caf::response_promise& rp) {
    if (!shutting_down_)
      return false;
    rp.deliver(make_error(sup_errc::shutting_down,
                          "supervisor " + id_ + " is shutting down"));
    return true;
  }

  caf::error unknown(const std::string& id) const {
    return make_error(sup_errc::unknown_child,
                      "supervisor " + id_ + " has no child " + id);
  }

  /// Starts `e` on behalf of a request and answers with its handle; removes
  /// the entry again if `remove_on_failure` and it fails.
  void start_for_request(entry& e, caf::response_promise rp,
                         bool remove_on_failure) {
    begin_op();
    auto id = e.first;
    start_one(e, true, [this, rp, id, remove_on_failure](caf::error err) mutable {
      auto* e2 = find(id);
      if (err) {
        emit(event_kind::child_start_failed, id, err);
        if (remove_on_failure)
          remove_entry(id);
        rp.deliver(std::move(err));
      } else {
        emit(event_kind::child_started, id);
        rp.deliver(e2->second.handle);
      }
      end_op();
    });
  }

  void add_child(child_spec spec, caf::response_promise rp) {
    if (refuse_if_stopping(rp))
      return;
    if (simple()) {
      rp.deliver(make_error(sup_errc::wrong_strategy,
                            "supervisor " + id_
                              + " is simple_one_for_one: start_child takes an "
                                "id and arguments"));
      return;
    }
    if (auto err = validate(spec)) {
      rp.deliver(std::move(err));
      return;
    }
    if (find(spec.id) != nullptr) {
      rp.deliver(make_error(sup_errc::duplicate_id,
                            "supervisor " + id_ + " already has child "
                              + spec.id));
      return;
    }
    specs_.push_back(std::move(spec));
    auto& e = add_entry(specs_.back(), specs_.back().id, caf::message{});
    start_for_request(e, std::move(rp), true);
  }

  void add_dynamic_child(std::string id, caf::message args,
                         caf::response_promise rp) {
    if (refuse_if_stopping(rp))
      return;
    if (!simple()) {
      rp.deliver(make_error(sup_errc::wrong_strategy,
                            "supervisor " + id_
                              + " is not simple_one_for_one: start_child "
                                "takes a child spec"));
      return;
    }
    if (id.empty()) {
      rp.deliver(make_error(sup_errc::invalid_spec, "child id is empty"));
      return;
    }
    if (find(id) != nullptr) {
      rp.deliver(make_error(sup_errc::duplicate_id,
                            "supervisor " + id_ + " already has child " + id));
      return;
    }
    auto& e = add_entry(template_, std::move(id), std::move(args));
    start_for_request(e, std::move(rp), true);
  }

  void terminate_child(const std::string& id, caf::response_promise rp) {
    if (refuse_if_stopping(rp))
      return;
    auto* e = find(id);
    if (e == nullptr) {
      rp.deliver(unknown(id));
      return;
    }
    begin_op();
    auto done = [this, rp, id]() mutable {
      emit(event_kind::child_stopped, id);
      // Dynamic and temporary children are forgotten once stopped (OTP).
      auto* e2 = find(id);
      if (e2 != nullptr
          && (simple() || e2->second.spec->restart == restart_type::temporary))
        remove_entry(id);
      rp.deliver(ok_atom::value);
      end_op();
    };
    stop_one(*e, std::move(done), true);
  }

  void restart_child(const std::string& id, caf::response_promise rp) {
    if (refuse_if_stopping(rp))
      return;
    if (simple()) {
      rp.deliver(make_error(sup_errc::wrong_strategy,
                            "restart_child is not defined for "
                            "simple_one_for_one"));
      return;
    }
    auto* e = find(id);
    if (e == nullptr) {
      rp.deliver(unknown(id));
      return;
    }
    if (e->second.handle) {
      rp.deliver(make_error(sup_errc::already_running,
                            "child " + id + " is running"));
      return;
    }
    start_for_request(*e, std::move(rp), false);
  }

  void delete_child(const std::string& id, caf::response_promise rp) {
    if (refuse_if_stopping(rp))
      return;
    if (simple()) {
      rp.deliver(make_error(sup_errc::wrong_strategy,
                            "delete_child is not defined for "
                            "simple_one_for_one"));
      return;
    }
    auto* e = find(id);
    if (e == nullptr) {
      rp.deliver(unknown(id));
      return;
    }
    if (e->second.handle) {
      rp.deliver(make_error(sup_errc::still_running,
                            "child " + id + " is running: terminate it first"));
      return;
    }
    remove_entry(id);
    rp.deliver(ok_atom::value);
  }

  child_info info(const entry& e) const {
    const auto& c = e.second;
    return child_info{e.first,
                      c.handle,
                      c.spec->kind,
                      c.spec->restart,
                      c.restarts,
                      c.last_exit ? describe(c.last_exit) : std::string{}};
  }

  std::vector<child_info> which_children() const {
    std::vector<child_info> out;
    if (simple()) {
      out.reserve(dynamic_.size());
      for (const auto& e : dynamic_)
        out.push_back(info(e));
    } else {
      for (const auto& e : ordered_)
        out.push_back(info(e));
    }
    return out;
  }

  child_counts count_children() const {
    child_counts n;
    auto count = [&n](const entry& e) {
      ++n.specs;
      if (e.second.handle)
        ++n.active;
      if (e.second.spec->kind == child_kind::supervisor)
        ++n.supervisors;
      else
        ++n.workers;
    };
    if (simple())
      for (const auto& e : dynamic_)
        count(e);
    else
      for (const auto& e : ordered_)
        count(e);
    return n;
  }

  /// Builds this supervisor's node and asks child supervisors for theirs.
  caf::response_promise snapshot(const snapshot_options& opts) {
    auto rp = make_response_promise();
    auto node = std::make_shared<tree_node>();
    node->id = id_;
    node->kind = child_kind::supervisor;
    node->how = flags_.how;
    node->intensity = flags_.intensity;
    node->period_ms = flags_.period.count();
    node->child_restarts = total_restarts_;
    auto steady_now = restart_intensity::clock::now();
    auto wall_now = std::chrono::system_clock::now();
    for (auto t : intensity_.recent())
      if (steady_now - t <= flags_.period)
        node->recent_restart_times_ms.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(
            (wall_now - (steady_now - t)).time_since_epoch())
            .count());
    node->recent_restarts = node->recent_restart_times_ms.size();
    auto counts = count_children();
    node->workers = counts.workers;
    node->supervisors = counts.supervisors;
    node->mailbox_depth = mailbox().size();
    node->mailbox_peak = std::max(mailbox_peak_, node->mailbox_depth);
    if (opts.depth == 0) {
      rp.deliver(*node);
      return rp;
    }
    bool list_workers = counts.workers <= opts.max_workers_listed
                        && (opts.list_dynamic || !simple());
    std::vector<std::pair<size_t, caf::actor>> asks;
    auto add = [&](const entry& e) {
      const auto& c = e.second;
      if (c.spec->kind == child_kind::worker && !list_workers)
        return;
      tree_node n;
      n.id = e.first;
      n.kind = c.spec->kind;
      n.restarts = c.restarts;
      n.reachable = static_cast<bool>(c.handle);
      if (c.gauge != nullptr) {
        n.mailbox_depth = c.gauge->depth();
        n.mailbox_peak = c.gauge->peak();
      }
      if (c.spec->kind == child_kind::supervisor && c.handle)
        asks.emplace_back(node->children.size(), c.handle);
      node->children.push_back(std::move(n));
    };
    if (simple())
      for (const auto& e : dynamic_)
        add(e);
    else
      for (const auto& e : ordered_)
        add(e);
    if (asks.empty()) {
      rp.deliver(*node);
      return rp;
    }
    auto sub_opts = opts;
    if (sub_opts.depth > 0)
      --sub_opts.depth;
    auto pending = std::make_shared<size_t>(asks.size());
    for (auto& [index, handle] : asks) {
      request(handle, std::chrono::seconds{5}, snapshot_atom::value, sub_opts)
        .then(
          [rp, node, pending, index = index](tree_node& sub) mutable {
            sub.restarts = node->children[index].restarts;
            node->children[index] = std::move(sub);
            if (--*pending == 0)
              rp.deliver(*node);
          },
          [rp, node, pending, index = index](caf::error&) mutable {
            node->children[index].reachable = false;
            if (--*pending == 0)
              rp.deliver(*node);
          });
    }
    return rp;
  }

  // -- state ------------------------------------------------------------------

  std::string id_;
  supervisor_flags flags_;
  gauge_registry* gauges_;
  caf::actor observer_;
  restart_intensity intensity_;
  /// Specs of static children (pointer-stable).
  std::list<child_spec> specs_;
  /// The template under simple_one_for_one.
  child_spec template_;
  /// Static children in start order.
  std::list<entry> ordered_;
  /// Dynamic children under simple_one_for_one.
  std::unordered_map<std::string, child> dynamic_;
  /// Running children by actor id.
  std::unordered_map<caf::actor_id, entry*> by_actor_;
  /// Children asked to stop, waiting for their down message.
  std::unordered_map<caf::actor_id, pending_stop> stopping_;
  std::deque<std::function<void()>> deferred_;
  std::vector<caf::response_promise> start_waiters_;
  caf::error start_error_;
  uint64_t total_restarts_ = 0;
  size_t mailbox_peak_ = 0;
  bool busy_ = false;
  bool draining_ = false;
  bool started_ = false;
  bool shutting_down_ = false;
};

} // namespace

caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys,
                                           supervisor_spec spec) {
  if (auto err = validate(spec))
    return err;
  return sys.spawn<supervisor_actor>(std::move(spec));
}

caf::expected<caf::actor> start_supervisor(caf::actor_system& sys,
                                           supervisor_spec spec,
                                           std::chrono::milliseconds timeout) {
  auto sup = spawn_supervisor(sys, std::move(spec));
  if (!sup)
    return sup;
  caf::expected<caf::actor> result{*sup};
  caf::scoped_actor self{sys};
  self->monitor(*sup);
  self->request(*sup, timeout, await_start_atom::value)
    .receive([](ok_atom) {},
             [&](caf::error& err) {
               self->send_exit(*sup, caf::exit_reason::kill);
               result = std::move(err);
             });
  if (!result && result.error() == caf::sec::request_receiver_down) {
    // It failed before it could answer: the reason is in its down message.
    self->receive([&](caf::down_msg& dm) { result = std::move(dm.reason); },
                  caf::after(timeout) >> [] {});
  }
  self->demonitor(*sup);
  return result;
}

child_spec
supervisor_child(std::string id,
                 std::function<supervisor_spec(const start_context&)> make_spec) {
  child_spec spec;
  spec.id = std::move(id);
  spec.kind = child_kind::supervisor;
  spec.restart = restart_type::permanent;
  spec.shutdown = shutdown_policy::infinity();
  spec.start = [make_spec = std::move(make_spec)](const start_context& ctx) {
    return spawn_supervisor(ctx.system, make_spec(ctx));
  };
  return spec;
}

} // namespace mcpvisor::supervision
