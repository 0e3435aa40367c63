#include "actors/tree.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace sup = supervision;

std::string meta_shard_name(uint32_t meta) {
  return "meta-" + std::to_string(meta);
}

std::string shard_name(shard_address addr) {
  return "shard-" + std::to_string(addr.meta) + "-"
         + std::to_string(addr.shard);
}

sup::start_function counting_restarts(runtime& rt, metrics::level level,
                                      sup::start_function f) {
  auto started = std::make_shared<bool>(false);
  return [&rt, level, started, f = std::move(f)](const sup::start_context& ctx) {
    if (*started)
      rt.stats().restarted(level);
    *started = true;
    return f(ctx);
  };
}

namespace {

sup::child_spec session_template(runtime& rt, session_factory make_session) {
  sup::child_spec spec;
  spec.id = "session";
  // A session that ends normally (DELETE, expiry) is gone; one that crashes
  // is restarted by its shard.
  spec.restart = sup::restart_type::transient;
  // Asked to stop (not killed), so a session that is stopped for good
  // unregisters itself; sessions never block their mailbox, so they comply.
  spec.shutdown = sup::shutdown_policy::timeout(std::chrono::seconds{5});
  spec.kind = sup::child_kind::worker;
  spec.start = [&rt, make_session = std::move(make_session)](
                 const sup::start_context& ctx) -> caf::expected<caf::actor> {
    auto id = session_id::parse(ctx.id);
    if (!id)
      return sup::make_error(sup::sup_errc::invalid_spec,
                             "not a session id: " + ctx.id);
    return make_session(rt, *id, ctx.gauge, ctx.args);
  };
  return spec;
}

sup::child_spec shard_child(runtime& rt, shard_address addr,
                            const session_factory& make_session) {
  const auto& cfg = rt.config().tree;
  sup::supervisor_spec spec;
  spec.id = shard_name(addr);
  spec.flags = {sup::strategy::simple_one_for_one, cfg.shard_intensity,
                cfg.shard_period};
  spec.children.push_back(session_template(rt, make_session));
  spec.gauges = &rt.gauges();
  sup::child_spec child;
  child.id = spec.id;
  child.kind = sup::child_kind::supervisor;
  child.restart = sup::restart_type::permanent;
  child.shutdown = sup::shutdown_policy::infinity();
  child.start = [&rt, addr, spec = std::move(spec)](
                  const sup::start_context&) -> caf::expected<caf::actor> {
    // Sessions of a previous incarnation that left a checkpoint are started
    // again under the new shard and continue; the others are gone with it,
    // and what waited for them is answered.
    session_registry::dropped gone;
    auto survivors = rt.registry().restart_shard(addr, rt.checkpoints().saved_in(addr),
                                                 gone);
    for (auto& h : gone.handovers)
      answer_unreached(*h, "the session could not be continued after its "
                           "shard restarted; start a new one");
    auto res = sup::spawn_supervisor(rt.system(), spec);
    if (res) {
      rt.shards().set(addr, *res);
      // while the shard is down, readiness says so
      (*res)->attach_functor([&rt, addr, who = res->address()] {
        rt.shards().clear_if(addr, who);
      });
      for (auto& id : survivors)
        caf::anon_send(*res, sup::start_child_atom::value, id.to_string(),
                       caf::message{});
    }
    return res;
  };
  child.start = counting_restarts(rt, metrics::level::shard, std::move(child.start));
  return child;
}

sup::child_spec meta_child(runtime& rt, uint32_t meta,
                           const session_factory& make_session) {
  const auto& cfg = rt.config().tree;
  sup::supervisor_spec spec;
  spec.id = meta_shard_name(meta);
  spec.flags = {sup::strategy::one_for_one, cfg.meta_intensity,
                cfg.meta_period};
  for (uint32_t s = 0; s < cfg.shards_per_meta; ++s)
    spec.children.push_back(shard_child(rt, {meta, s}, make_session));
  auto child = sup::supervisor_child(
    spec.id, [spec](const sup::start_context&) { return spec; });
  child.start = counting_restarts(rt, metrics::level::meta_shard,
                                  std::move(child.start));
  return child;
}

} // namespace

sup::supervisor_spec make_root_spec(runtime& rt, session_factory make_session,
                                    std::vector<sup::child_spec> extra) {
  const auto& cfg = rt.config().tree;
  sup::supervisor_spec spec;
  spec.id = "root";
  spec.flags = {sup::strategy::one_for_one, cfg.root_intensity,
                cfg.root_period};
  spec.children = std::move(extra);
  for (uint32_t m = 0; m < cfg.meta_shards; ++m)
    spec.children.push_back(meta_child(rt, m, make_session));
  return spec;
}

} // namespace mcpvisor::actors
