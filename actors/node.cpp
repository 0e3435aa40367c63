#include "actors/node.hpp"

#include <thread>

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace sup = supervision;

namespace {

std::unique_ptr<caf::actor_system_config> make_config(const node_config& cfg) {
  auto res = std::make_unique<caf::actor_system_config>();
  auto threads = cfg.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  res->set("scheduler.max-threads", threads);
  res->set("scheduler.policy", caf::atom_from_string(cfg.scheduler_policy));
  // CAF's own logger and console output stay off: stdout may be MCP's.
  res->set("logger.console", caf::atom("none"));
  return res;
}

} // namespace

node::node(const node_config& cfg, session_factory make_session)
  : cfg_(make_config(cfg)),
    sys_(std::make_unique<caf::actor_system>(*cfg_)),
    rt_(std::make_unique<runtime>(*sys_, cfg.tree)),
    make_session_(std::move(make_session)) {
  // nop
}

node::~node() {
  if (root_ && !waited_) {
    stop();
    wait();
  }
  // Actors are gone; the runtime they referenced can go, then the system.
  rt_.reset();
  sys_.reset();
}

caf::error node::start(std::vector<sup::child_spec> extra) {
  auto spec = make_root_spec(*rt_, make_session_, std::move(extra));
  auto res = sup::start_supervisor(*sys_, std::move(spec));
  if (!res)
    return std::move(res.error());
  root_ = std::move(*res);
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

void node::stop() {
  if (root_)
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
}

} // namespace mcpvisor::actors
