#include "actors/node.hpp"

#include <algorithm>
#include <thread>

#include <malloc.h>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/andon_monitor.hpp"
#include "actors/messages.hpp"
#include "actors/stateless.hpp"
#include "actors/upstream.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace sup = supervision;

size_t half_the_cores() {
  return std::max(1u, std::thread::hardware_concurrency() / 2);
}

namespace {

std::unique_ptr<caf::actor_system_config> make_config(const node_config& cfg) {
  auto res = std::make_unique<caf::actor_system_config>();
  auto threads = cfg.scheduler_threads;
  if (threads == 0)
    threads = half_the_cores();
  res->set("scheduler.max-threads", threads);
  res->set("scheduler.policy", caf::atom_from_string(cfg.scheduler_policy));
  // CAF's own logger and console output stay off: stdout may be MCP's.
  res->set("logger.console", caf::atom("none"));
  if (const auto& c = cfg.cluster; c.enabled()) {
    // the middleman only with mutual TLS: a plain port lets any peer look
    // up system actors and spawn actors (docs/security.md)
    res->load<caf::io::middleman>();
    res->load<caf::openssl::manager>();
    res->openssl_certificate = c.cert;
    res->openssl_key = c.key;
    res->openssl_cafile = c.ca;
    // a peer that speaks another version of the wire (cluster_wire.hpp)
    // does not connect
    res->set("middleman.app-identifiers",
             caf::config_value::list{caf::config_value{std::string{"mcpvisor-cluster-2"}}});
    add_cluster_types(*res);
    res->set("middleman.heartbeat-interval", caf::timespan{c.heartbeat});
    res->set("middleman.connection-timeout", caf::timespan{c.timeout});
    // never: it opens a port on every interface
    res->set("middleman.enable-automatic-connections", false);
    // the multiplexer's own thread does the I/O (half the round trip
    // time of extra workers on these machines)
    res->set("middleman.workers", size_t{0});
  }
  if (cfg.configure)
    cfg.configure(*res);
  return res;
}

using run_atom = caf::atom_constant<caf::atom("run")>;

/// Runs periodic work: expiring idle sessions, the tool sets' tasks, and
/// keep-alives on listen streams. A plain supervised worker of the root.
caf::behavior timer_actor(caf::event_based_actor* self, runtime* rt,
                          std::vector<protocol::periodic_task> tasks) {
  sup::keep_crash_text(self);
  // task i repeats every tasks[i].interval; the janitor and keep-alives are
  // appended as tasks of their own
  auto idle = rt->config().idle_timeout;
  auto sleep_after = rt->config().sleep_after;
  auto shortest = sleep_after.count() > 0 ? std::min(idle, sleep_after) : idle;
  // the janitor: ends sessions idle past the timeout, and puts those idle
  // past sleep_after to sleep; memory freed by many sleepers is given back
  // to the system on its next round
  auto trim = std::make_shared<bool>(false);
  tasks.push_back(protocol::periodic_task{
    std::clamp<std::chrono::milliseconds>(shortest / 2, std::chrono::seconds{1},
                                          std::chrono::seconds{10}),
    [rt, idle, sleep_after, trim] {
      if (*trim)
        malloc_trim(0);
      *trim = false;
      auto now = steady_seconds();
      auto expire = static_cast<uint32_t>(idle.count());
      auto drowse = static_cast<uint32_t>(sleep_after.count());
      size_t asked = 0;
      auto before = [now](uint32_t age) { return now > age ? now - age : 0; };
      auto& reg = rt->registry();
      // Sessions that ended or went to sleep together (100K opened in a
      // burst and left idle) would all be told in one round, and their
      // actors would then hold every lane for a second: at most
      // `per_round` are told each round, the rest in the rounds after, and
      // in steps of `per_step` with a pause between (this actor has a
      // thread of its own), so the lanes serve calls in between.
      constexpr size_t per_round = 2000;
      constexpr size_t per_step = 100;
      size_t told = 0;
      auto tell = [&told] {
        if (told >= per_round)
          return false;
        if (told > 0 && told % per_step == 0)
          std::this_thread::sleep_for(std::chrono::milliseconds{40});
        ++told;
        return true;
      };
      for (uint32_t m = 0; m < reg.metas(); ++m)
        for (uint32_t s = 0; s < reg.shards_per_meta(); ++s) {
          // sessions whose shard never started their actor go after 30 s
          session_registry::dropped gone;
          auto r = reg.sweep({m, s}, before(expire), drowse > 0 ? before(drowse) : 0,
                             before(30), gone);
          for (auto& h : gone.handovers)
            answer_unreached(*h, "the server could not start a session; retry");
          for (auto& h : r.expired)
            if (tell())
              expire_session(h);
          for (auto& id : r.forgotten)
            rt->forget_passive(id);
          for (auto& h : r.drowsy)
            if (tell()) {
              caf::anon_send(h, event_atom::value, event::of(event::kind::sleep));
              ++asked;
            }
        }
      *trim = asked >= 1000;
    }});
  tasks.push_back(protocol::periodic_task{std::chrono::seconds{15}, [rt] { rt->bus().keepalive(); }});
  auto shared = std::make_shared<std::vector<protocol::periodic_task>>(std::move(tasks));
  for (size_t i = 0; i < shared->size(); ++i)
    self->delayed_send(self, (*shared)[i].interval, run_atom::value, i);
  return {
    [self, shared](run_atom, size_t i) {
      (*shared)[i].run();
      self->delayed_send(self, (*shared)[i].interval, run_atom::value, i);
    },
  };
}

} // namespace

node::node(const node_config& cfg, protocol::server_context* srv,
           session_factory make_session)
  : cfg_(make_config(cfg)),
    sys_(std::make_unique<caf::actor_system>(*cfg_)),
    rt_(std::make_unique<runtime>(*sys_, cfg.runtime, srv)),
    make_session_(std::move(make_session)) {
  if (cfg.cluster.enabled()) {
    cluster_ = std::make_unique<cluster>(*rt_, cfg.cluster);
    rt_->set_cluster(cluster_.get());
    rt_->tasks().table.set_node_tag(cluster_->tag());
  }
  if (srv != nullptr)
    srv->cat().set_listener([rt = rt_.get()](protocol::catalog_change what,
                                             std::string_view uri) {
      rt->bus().publish(what, uri);
    });
}

node::~node() {
  rt_->set_stopping();
  if (root_ && !waited_) {
    stop();
    wait();
  }
  if (rt_->server() != nullptr)
    rt_->server()->cat().set_listener(nullptr);
  rt_->bus().close_all();
  rt_->workers().stop();
  // Actors are gone; what they referenced can go, then the system.
  rt_->set_cluster(nullptr);
  cluster_.reset();
  rt_.reset();
  sys_.reset();
}

caf::error node::start(std::vector<protocol::periodic_task> periodic) {
  std::vector<sup::child_spec> extra;
  if (rt_->server() != nullptr) {
    extra.push_back(stateless_supervisor(*rt_));
    sup::child_spec timer;
    timer.id = "timer";
    timer.start = [rt = rt_.get(), periodic](const sup::start_context& ctx)
      -> caf::expected<caf::actor> {
      // its own thread: a sweep over 100K sessions would otherwise stall
      // every actor of the scheduler for milliseconds (see benchmarks.md)
      return ctx.system.spawn<caf::detached>(timer_actor, rt, periodic);
    };
    extra.push_back(std::move(timer));
    extra.push_back(andon_monitor(*rt_));
    for (auto& c : extra)
      c.start = counting_restarts(*rt_, metrics::level::service,
                                  std::move(c.start));
    if (cluster_ != nullptr)
      for (auto& c : cluster_children(*rt_, *cluster_))
        extra.push_back(std::move(c));
    // upstream servers: beside the meta-shards, stopped after them
    for (auto& u : rt_->upstreams())
      extra.push_back(u->child_spec());
  }
  auto spec = make_root_spec(*rt_, make_session_, std::move(extra));
  auto res = sup::start_supervisor(*sys_, std::move(spec));
  if (!res)
    return std::move(res.error());
  root_ = std::move(*res);
  rt_->set_root(root_);
  return {};
}

int node::wait() {
  if (waited_ || !root_)
    return status_;
  caf::scoped_actor self{*sys_};
  self->monitor(root_);
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = std::move(dm.reason); });
  waited_ = true;
  exit_text_ = sup::describe(reason);
  status_ = reason == caf::exit_reason::user_shutdown ? 0 : 1;
  return status_;
}

void node::drain() {
  if (cluster_ != nullptr)
    cluster_->drain();
  else
    stop();
}

void node::stop() {
  rt_->set_stopping();
  if (root_)
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
}

} // namespace mcpvisor::actors
