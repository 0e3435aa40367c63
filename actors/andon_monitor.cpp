#include "actors/andon_monitor.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/process_stats.hpp"
#include "supervision/errors.hpp"

namespace mcpvisor::actors {

andon_marks andon_marks::from(const andon_config& cfg, size_t fd_limit) {
  andon_marks m;
  m.queue_high = cfg.queue_high;
  m.queue_low = std::min(cfg.queue_low, cfg.queue_high);
  m.rss_high = cfg.rss_high_mb * 1024 * 1024;
  m.rss_low = m.rss_high / 10 * 9;
  m.fds_high = cfg.fds_high != 0 ? cfg.fds_high : fd_limit / 10 * 9;
  m.fds_low = std::min(m.fds_high, fd_limit / 10 * 8);
  m.restarts_high = static_cast<double>(cfg.restarts_high);
  m.restarts_low = m.restarts_high / 10;
  return m;
}

andon_verdict judge(const load_sample& s, const andon_marks& m) {
  andon_verdict v;
  auto over = [&](const std::string& what, auto value, auto limit) {
    if (!v.pull)
      v.pull = what + " " + std::to_string(value) + " reached the high-water "
               "mark " + std::to_string(limit);
  };
  if (s.queued >= m.queue_high)
    over("queued work", s.queued, m.queue_high);
  if (m.rss_high != 0 && s.rss_bytes >= m.rss_high)
    over("resident memory (bytes)", s.rss_bytes, m.rss_high);
  if (s.fds >= m.fds_high)
    over("open file descriptors", s.fds, m.fds_high);
  if (s.restarts_per_s >= m.restarts_high)
    over("restarts per second", static_cast<uint64_t>(s.restarts_per_s),
         static_cast<uint64_t>(m.restarts_high));
  v.calm = s.queued <= m.queue_low
           && (m.rss_high == 0 || s.rss_bytes <= m.rss_low)
           && s.fds <= m.fds_low && s.restarts_per_s <= m.restarts_low;
  return v;
}

uint64_t queued_work(runtime& rt) {
  // Two views of the same backlog; the larger wins. Requests in flight,
  // counted by the transport from the moment it hands them on, see
  // requests that wait for a scheduler thread (a session with one request
  // queued shows a mailbox depth of 0 until it runs). Mailbox gauges see
  // messages that are not requests (a client flooding notifications), and
  // handler runs waiting for a worker. Both count a session up to its share.
  auto share = rt.config().andon.session_share;
  auto in_flight = static_cast<uint64_t>(
    std::max<int64_t>(0, rt.stats().shared_load.load(std::memory_order_relaxed)));
  auto mailboxes = rt.gauges().scan(share).capped_sum
                   + rt.stateless_gauges().scan().sum_depth
                   + rt.workers().queued();
  return std::max(in_flight, mailboxes);
}

namespace {

using sample_atom = caf::atom_constant<caf::atom("sample")>;

caf::behavior monitor(caf::event_based_actor* self, runtime* rt) {
  supervision::keep_crash_text(self);
  const auto& cfg = rt->config().andon;
  auto marks = andon_marks::from(cfg, fd_limit());
  struct state {
    uint64_t restarts = 0;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
    unsigned ticks = 0;
    size_t fds = 0;
  };
  auto st = std::make_shared<state>();
  st->restarts = rt->stats().restarts_total();
  self->send(self, sample_atom::value);
  return {
    [self, rt, marks, st, interval = cfg.interval](sample_atom) {
      load_sample s;
      s.queued = queued_work(*rt);
      s.rss_bytes = marks.rss_high != 0 ? resident_bytes() : 0;
      // counting descriptors reads a directory: about once a second
      if (st->ticks++ % 10 == 0)
        st->fds = open_fds();
      s.fds = st->fds;
      auto now = std::chrono::steady_clock::now();
      auto restarts = rt->stats().restarts_total();
      auto secs = std::chrono::duration<double>(now - st->at).count();
      s.restarts_per_s = secs > 0
                           ? static_cast<double>(restarts - st->restarts) / secs
                           : 0;
      st->restarts = restarts;
      st->at = now;
      auto v = judge(s, marks);
      auto& cord = rt->andon();
      if (v.pull) {
        if (cord.pull(*v.pull, false))
          log::warn("andon cord pulled", {{"reason", *v.pull}});
      } else if (v.calm && cord.pulled() && !cord.manual()) {
        if (cord.release("below every low-water mark", false))
          log::info("andon cord released",
                    {{"reason", "below every low-water mark"}});
      }
      self->delayed_send(self, interval, sample_atom::value);
    },
  };
}

} // namespace

supervision::child_spec andon_monitor(runtime& rt) {
  supervision::child_spec c;
  c.id = "andon";
  c.restart = supervision::restart_type::permanent;
  c.shutdown = supervision::shutdown_policy::brutal_kill();
  c.start = [&rt](const supervision::start_context& ctx)
    -> caf::expected<caf::actor> {
    // its own thread: counting 18,000 descriptors in /proc/self/fd takes
    // milliseconds, which would stall every session of the scheduler
    return ctx.system.spawn<caf::detached>(monitor, &rt);
  };
  return c;
}

} // namespace mcpvisor::actors
