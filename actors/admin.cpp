#include "actors/admin.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include <csignal>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/andon_monitor.hpp"
#include "actors/cluster.hpp"
#include "actors/log.hpp"
#include "actors/node.hpp"
#include "actors/process_stats.hpp"
#include "actors/session.hpp"
#include "actors/tree.hpp"
#include "actors/upstream.hpp"
#include "protocol/json.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

namespace mcpvisor::actors {

namespace sup = supervision;
using protocol::json_writer;
using protocol::string_sink;

namespace {

/// Sessions listed per page of a shard.
constexpr size_t page_size = 100;

/// Session ids listed in a chaos answer (the count is always exact).
constexpr size_t max_listed_kills = 1000;

admin_answer error(int status, std::string_view text) {
  std::string body = "{\"error\":";
  protocol::append_quoted(body, text);
  body += '}';
  return {status, std::move(body)};
}

/// `{"target":"node"[,"node":NAME]}`: the name asked for (empty if none);
/// nullopt for any other order.
std::optional<std::string> chaos_on_node(std::string_view body) {
  auto doc = protocol::parse_json(body);
  if (!doc || !doc->IsObject()
      || protocol::as_string(protocol::find_member(&*doc, "target")) != "node")
    return std::nullopt;
  return std::string{protocol::as_string(protocol::find_member(&*doc, "node")).value_or("")};
}

void render_cluster_metrics(prometheus_text& p, cluster& cl) {
  auto view = cl.members();
  p.family("mcpvisor_cluster_members", "gauge", "Cluster members by state, as this node sees them.");
  for (auto st : {cluster_member::state_t::up, cluster_member::state_t::draining,
                  cluster_member::state_t::down}) {
    uint64_t n = 0;
    for (auto& m : view->all())
      n += m.state == st ? 1 : 0;
    p.sample("mcpvisor_cluster_members",
             "state=\"" + std::string{cluster_member::name_of(st)} + "\"", n);
  }
  auto& c = cl.counters();
  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& v) {
    p.single(name, "counter", help, v.load(std::memory_order_relaxed));
  };
  counter("mcpvisor_cluster_member_downs_total", "Members seen going down or leaving.",
          c.member_downs);
  counter("mcpvisor_cluster_member_ups_total", "Members seen coming up.", c.member_ups);
  counter("mcpvisor_cluster_forwarded_total",
          "Client messages forwarded to the node that owns their session.", c.forwarded);
  counter("mcpvisor_cluster_forwarded_in_total",
          "Client messages other nodes forwarded to this one.", c.forwarded_in);
  counter("mcpvisor_cluster_rerouted_total",
          "Forwarded messages sent to a new owner after their node went down.", c.rerouted);
  counter("mcpvisor_cluster_forward_refused_total",
          "Messages not forwarded because too many waited for the member.",
          c.forward_refused);
  p.single("mcpvisor_cluster_forwarding", "gauge",
           "Exchanges forwarded from this node and not answered yet.", cl.forwarding());
  counter("mcpvisor_cluster_replicated_total", "Checkpoints sent to buddies.", c.replicated);
  counter("mcpvisor_cluster_replicas_received_total", "Checkpoints received as a buddy.",
          c.replicas_received);
  p.single("mcpvisor_cluster_replication_pending", "gauge",
           "Checkpoint changes queued for buddies.", cl.pending());
  p.single("mcpvisor_cluster_replicas", "gauge",
           "Replicas held for sessions owned by other nodes.", cl.replicas().size());
  p.family("mcpvisor_cluster_replication_lag_seconds", "gauge",
           "Time from sending the last batch of replicas to its acknowledgement.");
  p.sample("mcpvisor_cluster_replication_lag_seconds", {},
           static_cast<double>(c.replication_lag_us.load(std::memory_order_relaxed)) / 1e6);
  counter("mcpvisor_cluster_sessions_taken_over_total",
          "Sessions taken over from a replica or moved here by a draining node.", c.adopted);
  counter("mcpvisor_cluster_sessions_moved_out_total",
          "Sessions this node moved to others while draining.", c.moved_out);
}

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
    .count();
}

/// Passive sessions (`--passivate`) by shard name: counted with their
/// shard's sessions, though they have no actor under it.
using passive_counts = std::unordered_map<std::string, size_t>;

passive_counts count_passive(runtime& rt) {
  passive_counts out;
  if (!rt.config().passivate)
    return out;
  auto& reg = rt.registry();
  for (uint32_t m = 0; m < reg.metas(); ++m)
    for (uint32_t s = 0; s < reg.shards_per_meta(); ++s)
      if (auto n = reg.passive_in({m, s}).size(); n > 0)
        out[shard_name({m, s})] = n;
  return out;
}

void write_node(json_writer& w, const sup::tree_node& n, const passive_counts& passive) {
  w.StartObject();
  write_string(w, "id", n.id);
  write_string(w, "kind", n.kind == sup::child_kind::supervisor ? "supervisor"
                                                                : "worker");
  if (n.how) {
    write_string(w, "strategy", sup::to_name(*n.how));
    write_int(w, "intensity", n.intensity);
    write_int(w, "period_ms", n.period_ms);
  }
  write_uint(w, "restarts", n.restarts);
  if (n.kind == sup::child_kind::supervisor) {
    write_uint(w, "child_restarts", n.child_restarts);
    w.Key("recent_restarts_ms");
    w.StartArray();
    for (auto t : n.recent_restart_times_ms)
      w.Int64(t);
    w.EndArray();
    w.Key("children");
    w.StartObject();
    write_uint(w, "workers", n.workers);
    write_uint(w, "supervisors", n.supervisors);
    w.EndObject();
    if (n.how == sup::strategy::simple_one_for_one) {
      auto i = passive.find(n.id);
      auto k = i != passive.end() ? i->second : 0;
      write_uint(w, "sessions", n.workers + k);
      if (k > 0)
        write_uint(w, "passive", k);
    }
  }
  w.Key("mailbox");
  w.StartObject();
  write_uint(w, "depth", n.mailbox_depth);
  write_uint(w, "peak", n.mailbox_peak);
  w.EndObject();
  write_bool(w, "reachable", n.reachable);
  if (!n.children.empty()) {
    w.Key("nodes");
    w.StartArray();
    for (auto& c : n.children)
      write_node(w, c, passive);
    w.EndArray();
  }
  w.EndObject();
}

/// A chaos order, read from the request body.
struct chaos_order {
  enum class what {
    session,
    sessions,
    shard,
    meta_shard,
    upstream,
    upstream_process,
    upstream_processes,
    stateless,
    task,
  } target;
  session_id id;
  /// upstream targets: its name, and a process index.
  std::string name;
  size_t index = 0;
  double fraction = 0;
  uint32_t meta = 0;
  uint32_t shard = 0;
  std::string reason = "chaos";
  std::chrono::milliseconds every{0};
  std::chrono::milliseconds total{0};
};

std::variant<chaos_order, admin_answer> parse_chaos(std::string_view body,
                                                    runtime& rt) {
  const auto& reg = rt.registry();
  auto doc = protocol::parse_json(body);
  if (!doc || !doc->IsObject())
    return error(400, "the body must be a JSON object");
  chaos_order o;
  auto target = protocol::as_string(protocol::find_member(&*doc, "target"));
  auto uint_of = [&](const char* key, uint64_t& out) {
    auto* v = protocol::find_member(&*doc, key);
    if (v == nullptr || !v->IsUint64())
      return false;
    out = v->GetUint64();
    return true;
  };
  uint64_t n = 0;
  if (target == "session") {
    o.target = chaos_order::what::session;
    auto id = session_id::parse(
      protocol::as_string(protocol::find_member(&*doc, "id")).value_or(""));
    if (!id)
      return error(400, "\"id\" must be a session id");
    o.id = *id;
  } else if (target == "sessions") {
    o.target = chaos_order::what::sessions;
    auto* f = protocol::find_member(&*doc, "fraction");
    if (f == nullptr || !f->IsNumber() || f->GetDouble() <= 0
        || f->GetDouble() > 1)
      return error(400, "\"fraction\" must be a number in (0, 1]");
    o.fraction = f->GetDouble();
  } else if (target == "shard" || target == "meta_shard") {
    o.target = target == "shard" ? chaos_order::what::shard
                                 : chaos_order::what::meta_shard;
    if (!uint_of("meta", n) || n >= reg.metas())
      return error(400, "\"meta\" must be a meta-shard index below "
                          + std::to_string(reg.metas()));
    o.meta = static_cast<uint32_t>(n);
    if (o.target == chaos_order::what::shard) {
      if (!uint_of("shard", n) || n >= reg.shards_per_meta())
        return error(400, "\"shard\" must be a shard index below "
                            + std::to_string(reg.shards_per_meta()));
      o.shard = static_cast<uint32_t>(n);
    }
  } else if (target == "upstream" || target == "upstream_process"
             || target == "upstream_processes") {
    o.target = target == "upstream"           ? chaos_order::what::upstream
               : target == "upstream_process" ? chaos_order::what::upstream_process
                                              : chaos_order::what::upstream_processes;
    o.name = std::string{protocol::as_string(protocol::find_member(&*doc, "name")).value_or("")};
    auto& ups = rt.upstreams();
    auto it = std::find_if(ups.begin(), ups.end(), [&](auto& u) { return u->name() == o.name; });
    if (it == ups.end())
      return error(404, "no upstream named '" + o.name + "'");
    if (o.target == chaos_order::what::upstream_process) {
      if (!uint_of("index", n) || n >= (*it)->process_count())
        return error(400, "\"index\" must be a process index below "
                            + std::to_string((*it)->process_count()));
      o.index = static_cast<size_t>(n);
    } else if (o.target == chaos_order::what::upstream_processes) {
      auto* f = protocol::find_member(&*doc, "fraction");
      if (f == nullptr || !f->IsNumber() || f->GetDouble() <= 0 || f->GetDouble() > 1)
        return error(400, "\"fraction\" must be a number in (0, 1]");
      o.fraction = f->GetDouble();
    }
  } else if (target == "stateless") {
    o.target = chaos_order::what::stateless;
    if (!uint_of("index", n) || n >= rt.config().stateless_actors)
      return error(400, "\"index\" must be a stateless actor index below "
                          + std::to_string(rt.config().stateless_actors));
    o.index = static_cast<size_t>(n);
  } else if (target == "task") {
    o.target = chaos_order::what::task;
    auto id = protocol::as_string(protocol::find_member(&*doc, "taskId"));
    if (!id)
      return error(400, "\"taskId\" must be a task's id");
    o.name = std::string{*id};
  } else {
    return error(400, "\"target\" must be session, sessions, shard, meta_shard, "
                      "upstream, upstream_process, upstream_processes, stateless "
                      "or task");
  }
  if (auto r = protocol::as_string(protocol::find_member(&*doc, "reason")))
    o.reason = "chaos: " + std::string{r->substr(0, 200)};
  bool has_every = protocol::find_member(&*doc, "every_ms") != nullptr;
  bool has_for = protocol::find_member(&*doc, "for_ms") != nullptr;
  if (has_every || has_for) {
    uint64_t every = 0;
    uint64_t total = 0;
    if (!uint_of("every_ms", every) || every < 10 || !uint_of("for_ms", total)
        || total > 24ull * 3600 * 1000)
      return error(400, "repeating needs \"every_ms\" (at least 10) and "
                        "\"for_ms\" (at most a day)");
    o.every = std::chrono::milliseconds{every};
    o.total = std::chrono::milliseconds{total};
  }
  return o;
}

/// What one round of chaos killed.
struct kills {
  std::vector<std::string> sessions;
  size_t session_count = 0;
  std::string supervisor;
  /// Upstream processes killed ("upstream-NAME/process-I").
  std::vector<std::string> processes;
  /// A stateless actor crashed ("stateless-I").
  std::string actor;
  std::string problem; // why nothing was killed
  int status = 200;
};

/// Runs one round. Supervisors are stopped with an error as exit reason
/// (not killed), so that they stop their sessions in order and each session
/// hands its state on before the supervisor is restarted.
void strike(caf::event_based_actor* self, runtime& rt, const caf::actor& root,
            const chaos_order& o, std::function<void(kills)> then) {
  kills k;
  auto& reg = rt.registry();
  switch (o.target) {
    case chaos_order::what::session: {
      auto h = reg.whereis(o.id);
      if (!h) {
        k.status = reg.known(o.id) ? 409 : 404;
        k.problem = k.status == 409 ? "that session is restarting"
                                    : "no such session";
      } else {
        crash(h, o.reason);
        k.sessions.push_back(o.id.to_string());
        k.session_count = 1;
      }
      break;
    }
    case chaos_order::what::sessions: {
      std::vector<std::pair<session_id, caf::actor>> all;
      for (uint32_t m = 0; m < reg.metas(); ++m)
        for (uint32_t s = 0; s < reg.shards_per_meta(); ++s) {
          auto part = reg.all({m, s});
          all.insert(all.end(), part.begin(), part.end());
        }
      auto n = static_cast<size_t>(static_cast<double>(all.size()) * o.fraction + 0.5);
      if (n == 0 && !all.empty())
        n = 1;
      std::mt19937_64 rng{std::random_device{}()};
      for (size_t i = 0; i < n; ++i) {
        std::uniform_int_distribution<size_t> pick{i, all.size() - 1};
        std::swap(all[i], all[pick(rng)]);
        crash(all[i].second, o.reason);
        if (k.sessions.size() < max_listed_kills)
          k.sessions.push_back(all[i].first.to_string());
      }
      k.session_count = n;
      break;
    }
    case chaos_order::what::shard: {
      auto addr = shard_address{o.meta, o.shard};
      auto h = rt.shards().get(addr);
      if (!h) {
        k.status = 409;
        k.problem = "that shard is restarting";
      } else {
        self->send_exit(h, sup::make_error(sup::sup_errc::crashed, o.reason));
        k.supervisor = shard_name(addr);
      }
      break;
    }
    case chaos_order::what::meta_shard:
    case chaos_order::what::upstream: {
      // a child of the root, found by its id
      auto name = o.target == chaos_order::what::meta_shard ? meta_shard_name(o.meta)
                                                            : "upstream-" + o.name;
      self->request(root, std::chrono::seconds{5}, sup::which_children_atom::value)
        .then(
          [self, name, reason = o.reason, then](std::vector<sup::child_info>& kids) {
            kills k;
            auto it = std::find_if(kids.begin(), kids.end(),
                                   [&](auto& c) { return c.id == name; });
            if (it == kids.end() || !it->handle) {
              k.status = 409;
              k.problem = name + " is restarting (or down)";
            } else {
              self->send_exit(it->handle,
                              sup::make_error(sup::sup_errc::crashed, reason));
              k.supervisor = name;
            }
            then(std::move(k));
          },
          [then](caf::error&) {
            kills k;
            k.status = 503;
            k.problem = "the root supervisor did not answer";
            then(std::move(k));
          });
      return;
    }
    case chaos_order::what::stateless:
    case chaos_order::what::task: {
      // the actor in slot `index`, or the one running the task now
      std::string runner = "stateless-" + std::to_string(o.index);
      if (o.target == chaos_order::what::task) {
        std::lock_guard<std::mutex> guard{rt.tasks().mtx};
        auto* t = rt.tasks().table.at(o.name);
        runner = t != nullptr ? t->runner : std::string{};
        if (t == nullptr) {
          k.status = 404;
          k.problem = "no such task";
        } else if (runner.empty()) {
          k.status = 409;
          k.problem = "no actor runs that task now (it is "
                      + std::string{protocol::status_name(t->status)} + ")";
        }
      }
      if (k.status == 200) {
        auto h = rt.stateless_actor(std::stoul(runner.substr(runner.find('-') + 1)));
        if (!h) {
          k.status = 409;
          k.problem = runner + " is restarting";
        } else {
          crash(h, o.reason);
          k.actor = runner;
        }
      }
      break;
    }
    case chaos_order::what::upstream_process:
    case chaos_order::what::upstream_processes: {
      auto& ups = rt.upstreams();
      auto it = std::find_if(ups.begin(), ups.end(), [&](auto& u) { return u->name() == o.name; });
      if (it == ups.end())
        break;
      auto& u = **it;
      std::vector<size_t> victims;
      if (o.target == chaos_order::what::upstream_process) {
        victims.push_back(o.index);
      } else {
        victims = u.live_processes();
        auto all = victims.size();
        std::mt19937_64 rng{std::random_device{}()};
        std::shuffle(victims.begin(), victims.end(), rng);
        auto n = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(all) * o.fraction + 0.5));
        victims.resize(std::min(n, all));
      }
      for (auto i : victims)
        if (u.kill_process(i, o.reason))
          k.processes.push_back("upstream-" + o.name + "/process-" + std::to_string(i));
      if (k.processes.empty()) {
        k.status = 409;
        k.problem = "no process of that upstream runs now";
      }
      break;
    }
  }
  then(std::move(k));
}

admin_answer render_kills(const kills& k, const chaos_order& o) {
  if (k.status != 200)
    return error(k.status, k.problem);
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  w.Key("killed");
  w.StartObject();
  if (!k.supervisor.empty()) {
    write_string(w, "supervisor", k.supervisor);
  } else if (!k.actor.empty()) {
    write_string(w, "actor", k.actor);
  } else if (!k.processes.empty()) {
    write_strings(w, "processes", k.processes);
  } else {
    write_strings(w, "sessions", k.sessions);
    write_uint(w, "session_count", k.session_count);
  }
  w.EndObject();
  write_string(w, "reason", o.reason);
  if (o.every.count() > 0) {
    w.Key("repeat");
    w.StartObject();
    write_int(w, "every_ms", o.every.count());
    write_int(w, "for_ms", o.total.count());
    w.EndObject();
  }
  w.EndObject();
  return {200, std::move(out)};
}

void log_kills(const kills& k, const chaos_order& o) {
  if (k.status != 200)
    return;
  log::warn("chaos", {{"reason", o.reason},
                      {"killed", !k.supervisor.empty()   ? k.supervisor
                                 : !k.actor.empty()      ? k.actor
                                 : !k.processes.empty() ? std::to_string(k.processes.size())
                                                            + " upstream processes"
                                                        : std::to_string(k.session_count)
                                                            + " sessions"}});
}

using strike_atom = caf::atom_constant<caf::atom("strike")>;

} // namespace

admin::admin(node& n) : node_(n) {
  // nop
}

void admin::tree(int depth, admin_done done) {
  sup::snapshot_options opts;
  opts.depth = depth;
  opts.max_workers_listed = 64;
  opts.list_dynamic = false;
  node_.system().spawn([root = node_.root(), opts, rt = &node_.rt(),
                        done = std::move(done)](caf::event_based_actor* self) {
    self->request(root, std::chrono::seconds{5}, sup::snapshot_atom::value, opts)
      .then(
        [done, rt](sup::tree_node& n) {
          std::string out;
          string_sink sink{out};
          json_writer w{sink};
          write_node(w, n, count_passive(*rt));
          done({200, std::move(out)});
        },
        [done](caf::error& e) {
          done(error(503, "the tree did not answer: " + sup::describe(e)));
        });
  });
}

void admin::tree(int depth, std::string_view node, admin_done done) {
  auto* cl = node_.clustered();
  if (node.empty() || (cl != nullptr && node == cl->name())) {
    tree(depth, std::move(done));
    return;
  }
  if (cl == nullptr) {
    done(error(404, "this node is not in a cluster"));
    return;
  }
  cl->remote_tree(std::string{node}, depth, [done](int status, std::string body) {
    done({status, std::move(body)});
  });
}

void admin::shard(uint32_t meta, uint32_t shard, std::string_view cursor,
                  admin_done done) {
  auto& reg = node_.rt().registry();
  if (meta >= reg.metas() || shard >= reg.shards_per_meta()) {
    done(error(404, "no such shard"));
    return;
  }
  std::optional<session_id> after;
  if (!cursor.empty()) {
    after = session_id::parse(cursor);
    if (!after) {
      done(error(400, "the cursor must be a session id from next_cursor"));
      return;
    }
  }
  bool more = false;
  auto rows = std::make_shared<std::vector<session_registry::row>>(
    reg.page({meta, shard}, after ? &*after : nullptr, page_size, more));
  auto infos = std::make_shared<std::vector<std::string>>(rows->size());
  for (size_t i = 0; i < rows->size(); ++i)
    if ((*rows)[i].passive)
      (*infos)[i] = describe_passive(node_.rt(), (*rows)[i].id);
  auto name = shard_name({meta, shard});
  auto finish = [rows, infos, more, name, done] {
    auto now = steady_seconds();
    std::string out;
    string_sink sink{out};
    json_writer w{sink};
    w.StartObject();
    write_string(w, "shard", name);
    w.Key("sessions");
    w.StartArray();
    for (size_t i = 0; i < rows->size(); ++i) {
      auto& r = (*rows)[i];
      w.StartObject();
      write_string(w, "id", r.id.to_string());
      write_string(w, "state", r.handle ? "live" : r.passive ? "passive" : "restarting");
      write_uint(w, "age_s", now - r.created);
      write_uint(w, "idle_s", now - r.last_used);
      write_uint(w, "restarts", r.restarts);
      if (auto& info = (*infos)[i]; !info.empty()) {
        // the session's own description: revision, client, in flight
        w.Key("actor");
        w.RawValue(info.data(), info.size(), rapidjson::kObjectType);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("next_cursor");
    if (more)
      w.String(rows->back().id.to_string().c_str());
    else
      w.Null();
    w.EndObject();
    done({200, std::move(out)});
  };
  node_.system().spawn([rows, infos, finish](caf::event_based_actor* self) {
    auto pending = std::make_shared<size_t>(0);
    for (auto& r : *rows)
      if (r.handle)
        ++*pending;
    if (*pending == 0) {
      finish();
      return;
    }
    for (size_t i = 0; i < rows->size(); ++i) {
      if (!(*rows)[i].handle)
        continue;
      self->request((*rows)[i].handle, std::chrono::seconds{2}, event_atom::value,
                    event::of(event::kind::info))
        .then(
          [infos, pending, finish, i](std::string& info) {
            (*infos)[i] = std::move(info);
            if (--*pending == 0)
              finish();
          },
          [pending, finish](caf::error&) {
            if (--*pending == 0)
              finish();
          });
    }
  });
}

admin_answer admin::metrics() {
  auto& rt = node_.rt();
  std::string out;
  rt.stats().render(out);
  prometheus_text p{out};
  auto gauge = [&](const char* name, const char* help, auto value) {
    p.single(name, "gauge", help, static_cast<uint64_t>(value));
  };
  auto sessions = rt.gauges().scan();
  auto stateless = rt.stateless_gauges().scan();
  gauge("mcpvisor_sessions", "Sessions in the tree, live or restarting.",
        rt.registry().size());
  gauge("mcpvisor_sessions_asleep",
        "Idle sessions that keep only their checkpoint until they are needed.",
        rt.registry().asleep());
  gauge("mcpvisor_sessions_passive",
        "Sessions asleep without an actor (--passivate) until they are needed.",
        rt.registry().passive());
  gauge("mcpvisor_connections", "Open client connections.",
        rt.stats().connections_open.load(std::memory_order_relaxed));
  gauge("mcpvisor_session_mailbox_depth_sum",
        "Messages waiting in all session mailboxes.", sessions.sum_depth);
  gauge("mcpvisor_session_mailbox_depth_max",
        "Messages waiting in the fullest session mailbox.", sessions.max_depth);
  gauge("mcpvisor_stateless_mailbox_depth_sum",
        "Messages waiting in the stateless actors' mailboxes.",
        stateless.sum_depth);
  gauge("mcpvisor_worker_queue", "Handler runs waiting for a worker thread.",
        rt.workers().queued());
  gauge("mcpvisor_requests_in_flight",
        "Requests handed to the runtime and not answered yet.",
        rt.stats().requests_in_flight.load(std::memory_order_relaxed));
  gauge("mcpvisor_queued_work",
        "Queued work as the andon monitor counts it.", queued_work(rt));
  gauge("mcpvisor_andon_pulled", "1 while the andon cord is pulled.",
        rt.andon().pulled() ? 1 : 0);
  p.single("mcpvisor_andon_pulls_total", "counter", "Times the andon cord was pulled.",
           rt.andon().pulls());
  p.single("mcpvisor_worker_threads_abandoned_total", "counter",
           "Handler threads abandoned (and replaced) because their handler was "
           "stuck past its deadline.",
           rt.workers().abandoned_total());
  gauge("mcpvisor_ready", "1 when ready to take work (see /readyz).",
        ready().status == 200 ? 1 : 0);
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
        resident_bytes());
  gauge("mcpvisor_heap_in_use_bytes",
        "Heap bytes allocated and not freed (the rest of the heap's resident "
        "memory is free space malloc keeps).",
        heap_in_use());
  {
    std::array<uint64_t, 5> by_status{};
    {
      std::lock_guard<std::mutex> guard{rt.tasks().mtx};
      rt.tasks().table.for_each(
        [&](const protocol::task& t) { ++by_status[static_cast<size_t>(t.status)]; });
    }
    p.family("mcpvisor_tasks", "gauge", "Tasks kept (tasks extension), by status.");
    for (size_t i = 0; i < by_status.size(); ++i)
      p.sample("mcpvisor_tasks",
               "status=\"" + std::string{protocol::status_name(static_cast<protocol::task_status>(i))} + '"',
               by_status[i]);
  }
  upstream::render_metrics(p, rt.upstreams());
  if (auto* cl = node_.clustered())
    render_cluster_metrics(p, *cl);
  gauge("process_open_fds", "Open file descriptors.", open_fds());
  gauge("process_max_fds", "Limit on open file descriptors.", fd_limit());
  return {200, std::move(out), "text/plain; version=0.0.4; charset=utf-8"};
}

admin_answer admin::upstreams() {
  auto now = std::chrono::steady_clock::now();
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  w.Key("upstreams");
  w.StartArray();
  for (auto& u : node_.rt().upstreams()) {
    auto& cfg = u->config();
    w.StartObject();
    write_string(w, "name", cfg.name);
    write_string(w, "state", u->state_text());
    write_string(w, "transport", cfg.is_http() ? "http" : "stdio");
    std::string command;
    for (auto& part : cfg.command)
      command += (command.empty() ? "" : " ") + part;
    write_string(w, cfg.is_http() ? "url" : "command", cfg.is_http() ? cfg.url : command);
    write_string(w, "prefix", cfg.name_prefix());
    write_string(w, "mode", cfg.per_session() ? "per-session" : "shared");
    write_uint(w, "calls_in_flight", u->in_flight());
    w.Key("processes");
    w.StartArray();
    for (auto& p : u->processes()) {
      w.StartObject();
      write_uint(w, "index", p.index);
      write_string(w, "role", p.role);
      if (!p.session.empty())
        write_string(w, "session", p.session);
      write_bool(w, "ready", p.ready);
      write_int(w, "pid", p.pid);
      write_double(w, "uptime_s", std::chrono::duration<double>(now - p.started).count());
      write_uint(w, "restarts", p.restarts);
      write_uint(w, "calls_in_flight", p.in_flight);
      write_string(w, "last_exit", p.last_exit);
      write_strings(w, "stderr_tail", p.stderr_tail);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {200, std::move(out)};
}

admin_answer admin::tasks() {
  auto& store = node_.rt().tasks();
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  std::map<std::string, uint64_t> by_runner;
  w.StartObject();
  w.Key("tasks");
  w.StartArray();
  {
    std::lock_guard<std::mutex> guard{store.mtx};
    store.table.for_each([&](const protocol::task& t) {
      w.StartObject();
      write_string(w, "taskId", t.id);
      write_string(w, "status", protocol::status_name(t.status));
      write_string(w, "tool", t.tool);
      if (!t.owner.empty())
        write_string(w, "owner", t.owner);
      write_string(w, "createdAt", protocol::iso8601(t.created_ms));
      write_string(w, "lastUpdatedAt", protocol::iso8601(t.updated_ms));
      if (!t.status_message.empty())
        write_string(w, "statusMessage", t.status_message);
      write_uint(w, "rounds", t.rounds);
      write_uint(w, "runs", t.runs);
      write_bool(w, "replayable", t.replayable);
      if (!t.runner.empty()) {
        write_string(w, "runner", t.runner);
        ++by_runner[t.runner];
      }
      w.EndObject();
    });
  }
  w.EndArray();
  w.Key("running_by_actor");
  w.StartObject();
  for (auto& [runner, n] : by_runner)
    write_uint(w, runner, n);
  w.EndObject();
  w.EndObject();
  return {200, std::move(out)};
}

admin_answer admin::cluster() {
  auto now = std::chrono::system_clock::now();
  auto* cl = node_.clustered();
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_bool(w, "clustered", cl != nullptr);
  if (cl == nullptr) {
    w.EndObject();
    return {200, std::move(out)};
  }
  auto view = cl->members();
  write_string(w, "node", cl->name());
  write_bool(w, "quorum", view->quorum());
  w.Key("members");
  w.StartArray();
  for (auto& m : view->all()) {
    w.StartObject();
    write_string(w, "name", m.name);
    write_string(w, "address", m.address);
    write_string(w, "state", cluster_member::name_of(m.state));
    write_bool(w, "self", m.self);
    write_uint(w, "incarnation_ms", m.incarnation);
    write_double(w, "in_state_s", std::chrono::duration<double>(now - m.since).count());
    if (m.live()) {
      write_uint(w, "sessions", m.self ? node_.rt().registry().size() : m.sessions);
      write_bool(w, "andon_pulled", m.self ? node_.rt().andon().pulled() : m.andon_pulled);
    }
    w.EndObject();
  }
  w.EndArray();
  auto& c = cl->counters();
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  w.Key("forwarding");
  w.StartObject();
  write_uint(w, "in_flight", cl->forwarding());
  write_uint(w, "sent_total", get(c.forwarded));
  write_uint(w, "received_total", get(c.forwarded_in));
  write_uint(w, "rerouted_total", get(c.rerouted));
  write_uint(w, "refused_total", get(c.forward_refused));
  // what this node has waited for longest
  w.Key("waiting");
  w.StartArray();
  auto steady = std::chrono::steady_clock::now();
  for (auto& f : cl->oldest_forwarded(10)) {
    w.StartObject();
    write_string(w, "member", f.target);
    write_string(w, "session", f.session);
    write_double(w, "age_s", std::chrono::duration<double>(steady - f.sent).count());
    if (auto msg = protocol::parse_json(f.body); msg && msg->IsObject()) {
      write_string(w, "method", protocol::as_string(protocol::find_member(&*msg, "method")).value_or(""));
      if (auto* id = protocol::find_member(&*msg, "id"))
        write_string(w, "request", protocol::to_json(*id));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.Key("replication");
  w.StartObject();
  write_uint(w, "pending", cl->pending());
  write_uint(w, "replicas_held", cl->replicas().size());
  write_uint(w, "sent_total", get(c.replicated));
  write_uint(w, "received_total", get(c.replicas_received));
  write_double(w, "lag_ms", static_cast<double>(get(c.replication_lag_us)) / 1000.0);
  write_uint(w, "taken_over_total", get(c.adopted));
  write_uint(w, "moved_out_total", get(c.moved_out));
  w.EndObject();
  w.EndObject();
  return {200, std::move(out)};
}

admin_answer admin::health() {
  return {200, R"({"status":"ok"})"};
}

admin_answer admin::ready() {
  auto& rt = node_.rt();
  std::string why;
  if (rt.stopping())
    why = "the server is stopping";
  else if (node_.clustered() != nullptr && node_.clustered()->draining())
    why = "the node is draining";
  else if (rt.andon().pulled())
    why = "the andon cord is pulled";
  auto& reg = rt.registry();
  for (uint32_t m = 0; why.empty() && m < reg.metas(); ++m)
    for (uint32_t s = 0; why.empty() && s < reg.shards_per_meta(); ++s)
      if (!rt.shards().get({m, s}))
        why = "a shard is restarting";
  for (size_t i = 0; why.empty() && i < rt.config().stateless_actors; ++i)
    if (!rt.stateless_actor(i))
      why = "a stateless actor is restarting";
  if (why.empty())
    return {200, R"({"ready":true})"};
  std::string body = R"({"ready":false,"reason":)";
  protocol::append_quoted(body, why);
  body += '}';
  return {503, std::move(body)};
}

admin_answer admin::andon() {
  auto& rt = node_.rt();
  auto& cord = rt.andon();
  auto marks = andon_marks::from(rt.config().andon, fd_limit());
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_bool(w, "pulled", cord.pulled());
  write_bool(w, "manual", cord.manual());
  write_string(w, "reason", cord.reason());
  write_uint(w, "pulls", cord.pulls());
  write_uint(w, "releases", cord.releases());
  w.Key("load");
  w.StartObject();
  write_uint(w, "queued", queued_work(rt));
  write_uint(w, "rss_bytes", resident_bytes());
  write_uint(w, "fds", open_fds());
  w.EndObject();
  w.Key("marks");
  w.StartObject();
  write_uint(w, "queue_high", marks.queue_high);
  write_uint(w, "queue_low", marks.queue_low);
  write_uint(w, "rss_high_bytes", marks.rss_high);
  write_uint(w, "fds_high", marks.fds_high);
  write_uint(w, "fds_low", marks.fds_low);
  write_double(w, "restarts_per_s_high", marks.restarts_high);
  w.EndObject();
  w.Key("history");
  w.StartArray();
  for (auto& e : cord.history()) {
    w.StartObject();
    write_int(w, "at_ms", unix_ms(e.at));
    write_string(w, "action", e.pulled ? "pull" : "release");
    write_bool(w, "manual", e.manual);
    write_string(w, "reason", e.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {200, std::move(out)};
}

admin_answer admin::andon(std::string_view body) {
  auto doc = protocol::parse_json(body);
  if (!doc || !doc->IsObject())
    return error(400, "the body must be a JSON object");
  auto action = protocol::as_string(protocol::find_member(&*doc, "action"));
  auto reason = std::string{
    protocol::as_string(protocol::find_member(&*doc, "reason")).value_or("")};
  if (reason.empty())
    reason = "by hand";
  reason = reason.substr(0, 200);
  auto& cord = node_.rt().andon();
  if (action == "pull") {
    if (cord.pull(reason, true))
      log::warn("andon cord pulled", {{"reason", reason}, {"manual", "true"}});
  } else if (action == "release") {
    if (cord.release(reason, true))
      log::info("andon cord released", {{"reason", reason}, {"manual", "true"}});
  } else {
    return error(400, "\"action\" must be pull or release");
  }
  return andon();
}

void admin::chaos(std::string_view body, admin_done done) {
  auto& rt = node_.rt();
  if (auto node = chaos_on_node(body)) {
    // the node kills itself as SIGKILL would, once the answer is out
    auto* cl = node_.clustered();
    auto name = cl != nullptr ? cl->name() : std::string{"local"};
    if (!node->empty() && *node != name) {
      done(error(404, "this is node " + name + "; ask that node's admin endpoint"));
      return;
    }
    log::warn("chaos: this node kills itself", {{"node", name}});
    std::string out = R"({"killed":{"node":)";
    protocol::append_quoted(out, name);
    out += "}}";
    done({200, std::move(out)});
    std::thread{[] {
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
      ::kill(::getpid(), SIGKILL);
    }}.detach();
    return;
  }
  auto parsed = parse_chaos(body, rt);
  if (auto* a = std::get_if<admin_answer>(&parsed)) {
    done(std::move(*a));
    return;
  }
  auto order = std::get<chaos_order>(std::move(parsed));
  // one actor per order: the first round answers, later rounds repeat
  // every `every` until `total` has passed
  node_.system().spawn([&rt, root = node_.root(), order,
                        done = std::move(done)](caf::event_based_actor* self)
                         -> caf::behavior {
    sup::keep_crash_text(self);
    auto until = std::chrono::steady_clock::now() + order.total;
    // a repeating order ends with the tree, at the latest
    self->monitor(root);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    strike(self, rt, root, order, [self, order, done](kills k) {
      log_kills(k, order);
      done(render_kills(k, order));
      if (order.every.count() > 0)
        self->delayed_send(self, order.every, strike_atom::value);
      else
        self->quit();
    });
    return {
      [self, &rt, root, order, until](strike_atom) {
        if (std::chrono::steady_clock::now() >= until) {
          self->quit();
          return;
        }
        strike(self, rt, root, order, [self, order](kills k) {
          log_kills(k, order);
          self->delayed_send(self, order.every, strike_atom::value);
        });
      },
    };
  });
}

} // namespace mcpvisor::actors
