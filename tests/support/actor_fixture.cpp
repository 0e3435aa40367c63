#include "tests/support/actor_fixture.hpp"

namespace mcpvisor::test {

namespace {

caf::behavior test_worker(caf::event_based_actor* self, std::string id,
                          caf::actor reports, on_stop_request how) {
  // Reports its exit before it quits, so that the report reaches the test
  // before the supervisor sees the down message and acts on it. Only a kill,
  // which cannot be intercepted, is reported afterwards.
  auto reported = std::make_shared<bool>(false);
  auto report = [id, reports, reported](const caf::error& reason) {
    if (*reported)
      return;
    *reported = true;
    caf::anon_send(reports, stopped_atom::value, id, sup::describe(reason));
  };
  auto quit = [self, report](caf::error reason) {
    report(reason);
    self->quit(std::move(reason));
  };
  self->set_exception_handler(
    [report](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
      caf::error err;
      try {
        std::rethrow_exception(eptr);
      } catch (const std::exception& e) {
        err = sup::make_error(sup::sup_errc::crashed, e.what());
      }
      report(err);
      return err;
    });
  self->attach_functor([report](const caf::error& reason) { report(reason); });
  self->set_exit_handler([how, id, reports, quit](caf::exit_msg& em) {
    if (em.reason == caf::exit_reason::kill
        || how == on_stop_request::comply)
      quit(em.reason);
    else if (how == on_stop_request::wait_for_go)
      caf::anon_send(reports, asked_atom::value, id);
    // on_stop_request::ignore: keep running
  });
  return {
    [](ping_atom) { return pong_atom::value; },
    [](crash_atom, const std::string& what) -> caf::unit_t {
      throw std::runtime_error(what);
    },
    [quit](stop_me_atom) { quit(caf::error{}); },
    [quit](go_atom) { quit(caf::exit_reason::user_shutdown); },
  };
}

} // namespace

actor_fixture::~actor_fixture() {
  for (auto& s : started) {
    self->monitor(s);
    self->send_exit(s, caf::exit_reason::kill);
    self->receive([](caf::down_msg&) {}, caf::after(wait_limit) >> [] {});
  }
}

sup::child_spec actor_fixture::worker(std::string id, sup::restart_type rt,
                                      on_stop_request how,
                                      sup::shutdown_policy sd) {
  sup::child_spec cs;
  cs.id = id;
  cs.restart = rt;
  cs.shutdown = sd;
  cs.kind = sup::child_kind::worker;
  auto rep = caf::actor_cast<caf::actor>(reports);
  cs.start = [rep, how](const sup::start_context& ctx)
    -> caf::expected<caf::actor> {
    return ctx.system.spawn(test_worker, ctx.id, rep, how);
  };
  return cs;
}

sup::supervisor_spec actor_fixture::spec(std::string id, sup::strategy how,
                                         std::vector<sup::child_spec> children,
                                         int intensity,
                                         std::chrono::milliseconds period) {
  sup::supervisor_spec s;
  s.id = std::move(id);
  s.flags = {how, intensity, period};
  s.children = std::move(children);
  s.observer = caf::actor_cast<caf::actor>(events);
  return s;
}

caf::expected<caf::actor> actor_fixture::start(sup::supervisor_spec s) {
  auto res = sup::start_supervisor(sys, std::move(s), wait_limit);
  if (res)
    started.push_back(*res);
  return res;
}

std::optional<sup::supervisor_event>
actor_fixture::wait_event(std::function<bool(const sup::supervisor_event&)> pred) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return std::nullopt;
    std::optional<sup::supervisor_event> hit;
    bool timed_out = false;
    events->receive(
      [&](sup::supervisor_event_atom, sup::supervisor_event& ev) {
        if (pred(ev))
          hit = std::move(ev);
      },
      caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - now))
        >> [&] { timed_out = true; });
    if (hit)
      return hit;
    if (timed_out)
      return std::nullopt;
  }
}

bool actor_fixture::saw(sup::event_kind kind, const std::string& sup_id,
                        const std::string& child) {
  return wait_event([&](const sup::supervisor_event& ev) {
           return ev.kind == kind && ev.supervisor == sup_id
                  && ev.child == child;
         })
    .has_value();
}

std::optional<std::pair<std::string, std::string>>
actor_fixture::next_stop_report() {
  std::optional<std::pair<std::string, std::string>> res;
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (!res && std::chrono::steady_clock::now() < deadline) {
    reports->receive(
      [&](stopped_atom, std::string& id, std::string& reason) {
        res = std::make_pair(std::move(id), std::move(reason));
      },
      [](asked_atom, std::string&) {},
      caf::after(wait_limit) >> [] {});
  }
  return res;
}

caf::actor actor_fixture::child_handle(const caf::actor& s,
                                       const std::string& id) {
  auto kids = sup::client::which_children(self, s);
  if (!kids)
    return nullptr;
  for (auto& k : *kids)
    if (k.id == id)
      return k.handle;
  return nullptr;
}

caf::actor actor_fixture::wait_replaced(const caf::actor& s,
                                        const std::string& id,
                                        const caf::actor& old) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = child_handle(s, id);
    if (h && h != old)
      return h;
    std::this_thread::sleep_for(1ms);
  }
  return nullptr;
}

void actor_fixture::crash(const caf::actor& target, const std::string& what) {
  caf::anon_send(target, crash_atom::value, what);
}

caf::error actor_fixture::wait_down(const caf::actor& target) {
  caf::error reason = caf::make_error(caf::sec::request_timeout);
  self->monitor(target);
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(wait_limit) >> [] {});
  return reason;
}

} // namespace mcpvisor::test
