#include <doctest/doctest.h>

#include <cstdio>
#include <future>
#include <fcntl.h>
#include <unistd.h>

#include "supervision/restart_intensity.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace mcpvisor::test;
using sup::event_kind;
using sup::restart_type;
using sup::strategy;
using sup::sup_errc;

namespace {

std::vector<std::string> stop_order(actor_fixture& f, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    auto r = f.next_stop_report();
    if (!r)
      break;
    out.push_back(r->first);
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_SUITE("restart_intensity") {

TEST_CASE("the restart that exceeds the intensity is refused") {
  using clock = sup::restart_intensity::clock;
  sup::restart_intensity ri{2, 1000ms};
  auto t0 = clock::now();
  CHECK(ri.add(t0));
  CHECK(ri.add(t0 + 10ms));
  CHECK_FALSE(ri.add(t0 + 20ms)); // third within one second: counted, refused
}

TEST_CASE("restarts older than the period no longer count") {
  using clock = sup::restart_intensity::clock;
  sup::restart_intensity ri{1, 100ms};
  auto t0 = clock::now();
  CHECK(ri.add(t0));
  CHECK(ri.add(t0 + 101ms));
  CHECK(ri.recent().size() == 1);
  CHECK_FALSE(ri.add(t0 + 150ms));
}

TEST_CASE("intensity zero refuses the first restart") {
  sup::restart_intensity ri{0, 1000ms};
  CHECK_FALSE(ri.add(sup::restart_intensity::clock::now()));
}

} // TEST_SUITE

TEST_SUITE("supervisor start and stop") {

TEST_CASE("children start left to right and stop right to left") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("a"), f.worker("b"), f.worker("c")}));
  REQUIRE(s);
  CHECK(f.saw(event_kind::child_started, "top", "a"));
  CHECK(f.saw(event_kind::child_started, "top", "b"));
  CHECK(f.saw(event_kind::child_started, "top", "c"));
  auto kids = sup::client::which_children(f.self, *s);
  REQUIRE(kids);
  REQUIRE(kids->size() == 3);
  CHECK((*kids)[0].id == "a");
  CHECK((*kids)[2].id == "c");
  f.self->send_exit(*s, caf::exit_reason::user_shutdown);
  CHECK(stop_order(f, 3) == std::vector<std::string>{"c", "b", "a"});
  CHECK(f.wait_down(*s) == caf::exit_reason::user_shutdown);
  f.started.clear();
}

TEST_CASE("a child that fails to start stops the started ones and names "
          "itself") {
  actor_fixture f;
  auto bad = f.worker("b");
  bad.start = [](const sup::start_context&) -> caf::expected<caf::actor> {
    return caf::make_error(caf::sec::runtime_error, std::string{"no db"});
  };
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("a"), bad, f.worker("c")}));
  REQUIRE_FALSE(s);
  CHECK(sup::is(s.error(), sup_errc::start_failed));
  auto text = sup::describe(s.error());
  CHECK(contains(text, "child b"));
  CHECK(contains(text, "no db"));
  auto r = f.next_stop_report();
  REQUIRE(r);
  CHECK(r->first == "a"); // a was started, then stopped; c never started
}

TEST_CASE("a start function that throws is a start failure, not a crash") {
  actor_fixture f;
  auto bad = f.worker("x");
  bad.start = [](const sup::start_context&) -> caf::expected<caf::actor> {
    throw std::runtime_error("config missing");
  };
  auto s = f.start(f.spec("top", strategy::one_for_one, {bad}));
  REQUIRE_FALSE(s);
  CHECK(contains(sup::describe(s.error()), "config missing"));
}

TEST_CASE("a nested supervisor that fails to start fails its parent, naming "
          "the path") {
  actor_fixture f;
  auto bad = f.worker("db");
  bad.start = [](const sup::start_context&) -> caf::expected<caf::actor> {
    return caf::make_error(caf::sec::runtime_error, std::string{"refused"});
  };
  auto inner_spec = f.spec("inner", strategy::one_for_one,
                           {f.worker("ok"), bad});
  auto inner = sup::supervisor_child(
    "inner", [inner_spec](const sup::start_context&) { return inner_spec; });
  auto s = f.start(f.spec("outer", strategy::one_for_one,
                          {f.worker("first"), inner}));
  REQUIRE_FALSE(s);
  auto text = sup::describe(s.error());
  CHECK(contains(text, "child inner"));
  CHECK(contains(text, "child db"));
  // both workers that did start were stopped: "ok" by inner, "first" by outer
  auto stopped = stop_order(f, 2);
  CHECK(stopped == std::vector<std::string>{"ok", "first"});
}

TEST_CASE("a shutdown timeout asks first and kills when the time is up") {
  actor_fixture f;
  auto stubborn = f.worker("stubborn", restart_type::permanent,
                           on_stop_request::ignore,
                           sup::shutdown_policy::timeout(200ms));
  auto polite = f.worker("polite", restart_type::permanent,
                         on_stop_request::comply,
                         sup::shutdown_policy::timeout(200ms));
  auto s = f.start(f.spec("top", strategy::one_for_one, {stubborn, polite}));
  REQUIRE(s);
  REQUIRE_FALSE(sup::client::terminate_child(f.self, *s, "polite"));
  auto r1 = f.next_stop_report();
  REQUIRE(r1);
  CHECK(r1->first == "polite");
  CHECK(contains(r1->second, "user_shutdown"));
  REQUIRE_FALSE(sup::client::terminate_child(f.self, *s, "stubborn"));
  auto r2 = f.next_stop_report();
  REQUIRE(r2);
  CHECK(r2->first == "stubborn");
  CHECK(contains(r2->second, "kill"));
}

TEST_CASE("a child stopped for good and one stopped with its supervisor see "
          "different exit reasons") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("kept"), f.worker("dropped")}));
  REQUIRE(s);
  // terminate_child: gone for good
  REQUIRE_FALSE(sup::client::terminate_child(f.self, *s, "dropped"));
  auto r1 = f.next_stop_report();
  REQUIRE(r1);
  CHECK(r1->first == "dropped");
  CHECK(contains(r1->second, "user_shutdown"));
  // the supervisor stops: its children learn that it was the supervisor
  f.self->send_exit(*s, caf::exit_reason::user_shutdown);
  auto r2 = f.next_stop_report();
  REQUIRE(r2);
  CHECK(r2->first == "kept");
  CHECK(contains(r2->second, "shutdown"));
  CHECK(contains(r2->second, "stopped by supervisor top"));
  CHECK(f.wait_down(*s) == caf::exit_reason::user_shutdown);
  f.started.clear();
}

TEST_CASE("brutal_kill kills without asking") {
  actor_fixture f;
  auto w = f.worker("w", restart_type::permanent, on_stop_request::ignore,
                    sup::shutdown_policy::brutal_kill());
  auto s = f.start(f.spec("top", strategy::one_for_one, {w}));
  REQUIRE(s);
  REQUIRE_FALSE(sup::client::terminate_child(f.self, *s, "w"));
  auto r = f.next_stop_report();
  REQUIRE(r);
  CHECK(contains(r->second, "kill"));
}

TEST_CASE("a killed supervisor takes its children down") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("a"), f.worker("b")}));
  REQUIRE(s);
  f.self->send_exit(*s, caf::exit_reason::kill);
  auto stopped = stop_order(f, 2);
  CHECK(stopped.size() == 2);
  f.started.clear();
}

} // TEST_SUITE

TEST_SUITE("supervisor strategies") {

TEST_CASE("one_for_one restarts only the child that crashed") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("a"), f.worker("b"), f.worker("c")}));
  REQUIRE(s);
  auto a = f.child_handle(*s, "a");
  auto b = f.child_handle(*s, "b");
  auto c = f.child_handle(*s, "c");
  f.crash(b);
  CHECK(f.saw(event_kind::child_restarted, "top", "b"));
  auto b2 = f.wait_replaced(*s, "b", b);
  CHECK(b2);
  CHECK(f.child_handle(*s, "a") == a);
  CHECK(f.child_handle(*s, "c") == c);
}

TEST_CASE("one_for_all stops the others in reverse order and restarts all") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_all,
                          {f.worker("a"), f.worker("b"), f.worker("c")}));
  REQUIRE(s);
  auto a = f.child_handle(*s, "a");
  auto b = f.child_handle(*s, "b");
  auto c = f.child_handle(*s, "c");
  f.crash(b);
  // b dies by itself, then c and a are stopped in that order
  CHECK(stop_order(f, 3) == std::vector<std::string>{"b", "c", "a"});
  CHECK(f.saw(event_kind::child_restarted, "top", "c"));
  CHECK(f.child_handle(*s, "a") != a);
  CHECK(f.child_handle(*s, "b") != b);
  CHECK(f.child_handle(*s, "c") != c);
  CHECK(f.child_handle(*s, "a"));
}

TEST_CASE("rest_for_one restarts the child and those started after it") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::rest_for_one,
                          {f.worker("a"), f.worker("b"), f.worker("c")}));
  REQUIRE(s);
  auto a = f.child_handle(*s, "a");
  auto b = f.child_handle(*s, "b");
  auto c = f.child_handle(*s, "c");
  f.crash(b);
  CHECK(stop_order(f, 2) == std::vector<std::string>{"b", "c"});
  CHECK(f.saw(event_kind::child_restarted, "top", "c"));
  CHECK(f.child_handle(*s, "a") == a);
  CHECK(f.child_handle(*s, "b") != b);
  CHECK(f.child_handle(*s, "c") != c);
}

TEST_CASE("simple_one_for_one starts children with extra arguments and "
          "restarts them with the same ones") {
  actor_fixture f;
  auto seen = std::make_shared<journal>();
  auto tmpl = f.worker("session");
  auto inner = tmpl.start;
  tmpl.start = [seen, inner](const sup::start_context& ctx) {
    seen->add(ctx.id + "=" + ctx.args.get_as<std::string>(0));
    return inner(ctx);
  };
  auto s = f.start(f.spec("shard", strategy::simple_one_for_one, {tmpl}));
  REQUIRE(s);
  auto x = sup::client::start_child(f.self, *s, "s1",
                                    caf::make_message(std::string{"alpha"}));
  REQUIRE(x);
  REQUIRE(sup::client::start_child(f.self, *s, "s2",
                                   caf::make_message(std::string{"beta"})));
  f.crash(*x);
  CHECK(f.saw(event_kind::child_restarted, "shard", "s1"));
  CHECK(seen->items()
        == std::vector<std::string>{"s1=alpha", "s2=beta", "s1=alpha"});
  auto n = sup::client::count_children(f.self, *s);
  REQUIRE(n);
  CHECK(n->active == 2);
  CHECK(n->workers == 2);
}

TEST_CASE("simple_one_for_one stops its children in parallel") {
  actor_fixture f;
  auto tmpl = f.worker("session", restart_type::transient,
                       on_stop_request::wait_for_go,
                       sup::shutdown_policy::timeout(4s));
  auto s = f.start(f.spec("shard", strategy::simple_one_for_one, {tmpl}));
  REQUIRE(s);
  std::vector<caf::actor> kids;
  for (int i = 0; i < 5; ++i) {
    auto k = sup::client::start_child(f.self, *s, "s" + std::to_string(i),
                                      caf::message{});
    REQUIRE(k);
    kids.push_back(*k);
  }
  f.self->send_exit(*s, caf::exit_reason::user_shutdown);
  // Every child is asked to stop before any of them has stopped: a
  // sequential shutdown would ask the second only after the first exited.
  size_t asked = 0;
  bool timed_out = false;
  while (asked < kids.size() && !timed_out)
    f.reports->receive([&](asked_atom, std::string&) { ++asked; },
                       caf::after(wait_limit) >> [&] { timed_out = true; });
  CHECK(asked == kids.size());
  for (auto& k : kids)
    caf::anon_send(k, go_atom::value);
  CHECK(f.wait_down(*s) == caf::exit_reason::user_shutdown);
  f.started.clear();
}

} // TEST_SUITE

TEST_SUITE("restart types and intensity") {

TEST_CASE("transient children are restarted only after an abnormal exit") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("t", restart_type::transient)}));
  REQUIRE(s);
  auto t = f.child_handle(*s, "t");
  f.crash(t);
  CHECK(f.saw(event_kind::child_restarted, "top", "t"));
  auto t2 = f.wait_replaced(*s, "t", t);
  REQUIRE(t2);
  caf::anon_send(t2, stop_me_atom::value);
  CHECK(f.saw(event_kind::child_exited, "top", "t"));
  auto n = sup::client::count_children(f.self, *s);
  REQUIRE(n);
  CHECK(n->specs == 1); // the spec stays, as OTP keeps it
  CHECK(n->active == 0);
}

TEST_CASE("temporary children are never restarted and their spec is "
          "forgotten") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("tmp", restart_type::temporary),
                           f.worker("keep")}));
  REQUIRE(s);
  f.crash(f.child_handle(*s, "tmp"));
  CHECK(f.saw(event_kind::child_exited, "top", "tmp"));
  auto kids = sup::client::which_children(f.self, *s);
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().id == "keep");
}

TEST_CASE("exceeding the intensity stops all children in reverse order and "
          "exits with shutdown") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one,
                          {f.worker("a"), f.worker("b"), f.worker("c")}, 1,
                          10s));
  REQUIRE(s);
  f.self->monitor(*s);
  auto b = f.child_handle(*s, "b");
  f.crash(b);
  auto b2 = f.wait_replaced(*s, "b", b);
  REQUIRE(b2);
  f.crash(b2); // second restart within the period: intensity 1 exceeded
  CHECK(f.saw(event_kind::intensity_exceeded, "top", "b"));
  CHECK(stop_order(f, 4) == std::vector<std::string>{"b", "b", "c", "a"});
  caf::error reason;
  f.self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(wait_limit) >> [] {});
  CHECK(sup::is(reason, sup_errc::shutdown));
  CHECK(contains(sup::describe(reason), "child b"));
  f.started.clear();
}

TEST_CASE("a supervisor that gives up is restarted by its parent under the "
          "parent's intensity") {
  actor_fixture f;
  auto inner_spec = f.spec("inner", strategy::one_for_one, {f.worker("w")}, 0,
                           10s);
  auto inner = sup::supervisor_child(
    "inner", [inner_spec](const sup::start_context&) { return inner_spec; });
  auto s = f.start(f.spec("outer", strategy::one_for_one,
                          {inner, f.worker("sibling")}, 1, 10s));
  REQUIRE(s);
  auto sibling = f.child_handle(*s, "sibling");
  auto in1 = f.child_handle(*s, "inner");
  REQUIRE(in1);
  auto w = f.child_handle(in1, "w");
  f.crash(w); // inner has intensity 0: gives up at once
  CHECK(f.saw(event_kind::intensity_exceeded, "inner", "w"));
  CHECK(f.saw(event_kind::child_restarted, "outer", "inner"));
  auto in2 = f.wait_replaced(*s, "inner", in1);
  REQUIRE(in2);
  CHECK(f.child_handle(in2, "w"));
  CHECK(f.child_handle(*s, "sibling") == sibling);
  // a second escalation within the period exceeds the outer intensity too
  f.self->monitor(*s);
  f.crash(f.child_handle(in2, "w"));
  CHECK(f.saw(event_kind::intensity_exceeded, "outer", "inner"));
  caf::error reason;
  f.self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(wait_limit) >> [] {});
  CHECK(sup::is(reason, sup_errc::shutdown));
  f.started.clear();
}

} // TEST_SUITE

TEST_SUITE("supervisor API") {

TEST_CASE("start_child, terminate_child, restart_child, delete_child") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one, {f.worker("a")}));
  REQUIRE(s);
  auto b = sup::client::start_child(f.self, *s, f.worker("b"));
  REQUIRE(b);
  CHECK(f.child_handle(*s, "b") == *b);
  CHECK_FALSE(sup::client::terminate_child(f.self, *s, "b"));
  CHECK_FALSE(f.child_handle(*s, "b"));
  auto n = sup::client::count_children(f.self, *s);
  REQUIRE(n);
  CHECK(n->specs == 2);
  CHECK(n->active == 1);
  auto b2 = sup::client::restart_child(f.self, *s, "b");
  REQUIRE(b2);
  CHECK(*b2 != *b);
  CHECK(sup::is(sup::client::delete_child(f.self, *s, "b"),
                sup_errc::still_running));
  CHECK_FALSE(sup::client::terminate_child(f.self, *s, "b"));
  CHECK_FALSE(sup::client::delete_child(f.self, *s, "b"));
  auto kids = sup::client::which_children(f.self, *s);
  REQUIRE(kids);
  CHECK(kids->size() == 1);
}

TEST_CASE("bad requests get clear errors and the supervisor keeps working") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one, {f.worker("a")}));
  REQUIRE(s);
  auto dup = sup::client::start_child(f.self, *s, f.worker("a"));
  REQUIRE_FALSE(dup);
  CHECK(sup::is(dup.error(), sup_errc::duplicate_id));
  sup::child_spec no_start;
  no_start.id = "x";
  auto inv = sup::client::start_child(f.self, *s, no_start);
  REQUIRE_FALSE(inv);
  CHECK(sup::is(inv.error(), sup_errc::invalid_spec));
  auto noid = f.worker("");
  CHECK(sup::is(sup::client::start_child(f.self, *s, noid).error(),
                sup_errc::invalid_spec));
  CHECK(sup::is(sup::client::terminate_child(f.self, *s, "nope"),
                sup_errc::unknown_child));
  CHECK(sup::is(sup::client::restart_child(f.self, *s, "nope").error(),
                sup_errc::unknown_child));
  CHECK(sup::is(sup::client::delete_child(f.self, *s, "nope"),
                sup_errc::unknown_child));
  CHECK(sup::is(sup::client::restart_child(f.self, *s, "a").error(),
                sup_errc::already_running));
  CHECK(sup::is(
    sup::client::start_child(f.self, *s, "dyn", caf::message{}).error(),
    sup_errc::wrong_strategy));
  // still alive and answering
  auto kids = sup::client::which_children(f.self, *s);
  REQUIRE(kids);
  CHECK(kids->size() == 1);
  CHECK(kids->front().handle);
}

TEST_CASE("simple_one_for_one refuses what OTP refuses") {
  actor_fixture f;
  auto s = f.start(f.spec("shard", strategy::simple_one_for_one,
                          {f.worker("session")}));
  REQUIRE(s);
  CHECK(sup::is(sup::client::start_child(f.self, *s, f.worker("x")).error(),
                sup_errc::wrong_strategy));
  REQUIRE(sup::client::start_child(f.self, *s, "s1", caf::message{}));
  CHECK(sup::is(
    sup::client::start_child(f.self, *s, "s1", caf::message{}).error(),
    sup_errc::duplicate_id));
  CHECK(sup::is(sup::client::start_child(f.self, *s, "", caf::message{}).error(),
                sup_errc::invalid_spec));
  CHECK(sup::is(sup::client::restart_child(f.self, *s, "s1").error(),
                sup_errc::wrong_strategy));
  CHECK(sup::is(sup::client::delete_child(f.self, *s, "s1"),
                sup_errc::wrong_strategy));
  CHECK_FALSE(sup::client::terminate_child(f.self, *s, "s1"));
  auto n = sup::client::count_children(f.self, *s);
  REQUIRE(n);
  CHECK(n->specs == 0); // a stopped dynamic child is forgotten
}

TEST_CASE("invalid supervisor specs are refused before anything starts") {
  actor_fixture f;
  auto r1 = f.start(f.spec("dup", strategy::one_for_one,
                           {f.worker("a"), f.worker("a")}));
  REQUIRE_FALSE(r1);
  CHECK(sup::is(r1.error(), sup_errc::duplicate_id));
  auto r2 = f.start(f.spec("simple", strategy::simple_one_for_one,
                           {f.worker("a"), f.worker("b")}));
  REQUIRE_FALSE(r2);
  CHECK(sup::is(r2.error(), sup_errc::invalid_spec));
  auto r3 = f.start(f.spec("neg", strategy::one_for_one, {}, -1));
  REQUIRE_FALSE(r3);
  CHECK(sup::is(r3.error(), sup_errc::invalid_spec));
  auto bad_timeout = f.worker("t", restart_type::permanent,
                              on_stop_request::comply,
                              sup::shutdown_policy::timeout(0ms));
  auto r4 = f.start(f.spec("t", strategy::one_for_one, {bad_timeout}));
  REQUIRE_FALSE(r4);
  CHECK(sup::is(r4.error(), sup_errc::invalid_spec));
  CHECK(f.started.empty());
}

TEST_CASE("requests to a supervisor that is shutting down get an error") {
  actor_fixture f;
  auto slow = f.worker("slow", restart_type::permanent,
                       on_stop_request::wait_for_go,
                       sup::shutdown_policy::timeout(4s));
  auto s = f.start(f.spec("top", strategy::one_for_one, {slow}));
  REQUIRE(s);
  auto h = f.child_handle(*s, "slow");
  f.self->send_exit(*s, caf::exit_reason::user_shutdown);
  bool asked = false;
  f.reports->receive([&](asked_atom, std::string&) { asked = true; },
                     caf::after(wait_limit) >> [] {});
  REQUIRE(asked); // the supervisor is now waiting for "slow" to stop
  auto res = sup::client::start_child(f.self, *s, f.worker("late"));
  REQUIRE_FALSE(res);
  CHECK(sup::is(res.error(), sup_errc::shutting_down));
  auto term = sup::client::terminate_child(f.self, *s, "slow");
  CHECK(sup::is(term, sup_errc::shutting_down));
  caf::anon_send(h, go_atom::value);
  CHECK(f.wait_down(*s) == caf::exit_reason::user_shutdown);
  f.started.clear();
}

} // TEST_SUITE

TEST_SUITE("crash reports and introspection") {

TEST_CASE("a crash's exception text reaches the supervisor and nothing is "
          "printed to stdout") {
  actor_fixture f;
  auto s = f.start(f.spec("top", strategy::one_for_one, {f.worker("w")}));
  REQUIRE(s);
  std::fflush(stdout);
  char path[] = "/tmp/mcpvisor-stdout-XXXXXX";
  int tmp = mkstemp(path);
  REQUIRE(tmp >= 0);
  int saved = dup(STDOUT_FILENO);
  dup2(tmp, STDOUT_FILENO);
  f.crash(f.child_handle(*s, "w"), "disk full on /var/x");
  auto ev = f.wait_event([](const sup::supervisor_event& e) {
    return e.kind == event_kind::child_exited && e.child == "w";
  });
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  auto printed = lseek(tmp, 0, SEEK_END);
  close(tmp);
  unlink(path);
  REQUIRE(ev);
  CHECK(contains(sup::describe(ev->reason), "disk full on /var/x"));
  CHECK(sup::is(ev->reason, sup_errc::crashed));
  CHECK(printed == 0);
  REQUIRE(f.saw(event_kind::child_restarted, "top", "w"));
  auto kids = sup::client::which_children(f.self, *s);
  REQUIRE(kids);
  CHECK(contains(kids->front().last_exit, "disk full"));
  CHECK(kids->front().restarts == 1);
}

TEST_CASE("the tree snapshot reports every level") {
  sup::gauge_registry gauges; // must outlive the supervisors that use it
  actor_fixture f;
  auto shard_spec = f.spec("shard", strategy::simple_one_for_one,
                           {f.worker("session")});
  shard_spec.gauges = &gauges;
  auto shard = sup::supervisor_child(
    "shard", [shard_spec](const sup::start_context&) { return shard_spec; });
  auto s = f.start(f.spec("root", strategy::rest_for_one,
                          {f.worker("svc"), shard}, 5, 10s));
  REQUIRE(s);
  auto shard_actor = f.child_handle(*s, "shard");
  for (int i = 0; i < 3; ++i)
    REQUIRE(sup::client::start_child(f.self, shard_actor,
                                     "s" + std::to_string(i), caf::message{}));
  f.crash(f.child_handle(*s, "svc"));
  REQUIRE(f.saw(event_kind::child_restarted, "root", "shard"));
  shard_actor = f.wait_replaced(*s, "shard", shard_actor);
  REQUIRE(shard_actor);
  for (int i = 0; i < 40; ++i)
    REQUIRE(sup::client::start_child(f.self, shard_actor,
                                     "n" + std::to_string(i), caf::message{}));
  auto snap = sup::client::snapshot(f.self, *s);
  REQUIRE(snap);
  CHECK(snap->id == "root");
  CHECK(snap->how == strategy::rest_for_one);
  CHECK(snap->intensity == 5);
  CHECK(snap->period_ms == 10000);
  CHECK(snap->child_restarts == 1);
  CHECK(snap->workers == 1);
  CHECK(snap->supervisors == 1);
  REQUIRE(snap->children.size() == 2);
  const auto& svc = snap->children[0];
  CHECK(svc.id == "svc");
  CHECK(svc.restarts == 1);
  const auto& sh = snap->children[1];
  CHECK(sh.id == "shard");
  CHECK(sh.kind == sup::child_kind::supervisor);
  CHECK(sh.how == strategy::simple_one_for_one);
  CHECK(sh.restarts == 1); // restarted with svc under rest_for_one
  CHECK(sh.workers == 40);
  CHECK(sh.children.empty()); // 40 > max_workers_listed: counted, not listed
  sup::snapshot_options opts;
  opts.max_workers_listed = 100;
  auto full = sup::client::snapshot(f.self, *s, opts);
  REQUIRE(full);
  CHECK(full->children[1].children.size() == 40);
  opts.depth = 0;
  auto top = sup::client::snapshot(f.self, *s, opts);
  REQUIRE(top);
  CHECK(top->children.empty());
  CHECK(top->supervisors == 1);
  CHECK(gauges.scan().in_use == 40);
}

TEST_CASE("a mailbox gauge shows a backlog to other threads") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  sup::gauge_registry reg;
  auto* gauge = reg.acquire();
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto a = sys.spawn([gauge, opened](caf::event_based_actor* self) {
    return caf::behavior{
      [=](ping_atom) { opened.wait(); },
      [=](pong_atom) { gauge->publish(self->mailbox().size()); },
      [=](stop_me_atom) { self->quit(); },
    };
  });
  caf::anon_send(a, ping_atom::value); // blocks the actor until the gate opens
  for (int i = 0; i < 100; ++i)
    caf::anon_send(a, pong_atom::value);
  gate->set_value();
  caf::scoped_actor self{sys};
  self->monitor(a);
  caf::anon_send(a, stop_me_atom::value); // queued behind the pongs
  self->receive([](caf::down_msg&) {}, caf::after(wait_limit) >> [] {});
  CHECK(gauge->peak() >= 90); // first pong saw the other 99 still queued
  CHECK(reg.scan().in_use == 1);
  reg.release(gauge);
  CHECK(reg.scan().in_use == 0);
}

} // TEST_SUITE
