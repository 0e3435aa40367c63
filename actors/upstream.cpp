#include "actors/upstream.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "protocol/forwarding.hpp"
#include "protocol/jsonrpc.hpp"
#include "supervision/errors.hpp"
#include "supervision/supervisor.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<mcpvisor::protocol::message>)

namespace mcpvisor::actors {

namespace {

namespace sup = supervision;
using protocol::message;
using protocol::message_kind;

using spawn_atom = caf::atom_constant<caf::atom("upspawn")>;
using message_atom = caf::atom_constant<caf::atom("upmsg")>;
using closed_atom = caf::atom_constant<caf::atom("upclosed")>;
using tick_atom = caf::atom_constant<caf::atom("uptick")>;
using kill_atom = caf::atom_constant<caf::atom("upkill")>;
using relist_atom = caf::atom_constant<caf::atom("uprelist")>;
using subscribe_atom = caf::atom_constant<caf::atom("upsub")>;

std::string quoted(std::string_view s) {
  std::string out;
  protocol::append_quoted(out, s);
  return out;
}

/// An error data object naming the upstream.
std::string upstream_data(std::string_view name, std::string_view extra = {}) {
  std::string d = R"({"upstream":)" + quoted(name);
  d += extra;
  d += '}';
  return d;
}

/// The first bytes of what a process wrote, for a log line.
std::string snippet(std::string_view text) {
  std::string s{text.substr(0, 120)};
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20)
      c = ' ';
  return s;
}

/// The integer a progress token or response id names (ours are integers,
/// or integers written as strings).
std::optional<int64_t> integer_of(const protocol::json_value* v) {
  if (v == nullptr)
    return std::nullopt;
  if (v->IsInt64())
    return v->GetInt64();
  if (!v->IsString())
    return std::nullopt;
  std::string_view s{v->GetString(), v->GetStringLength()};
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return n;
}

} // namespace

// -- the carrier ----------------------------------------------------------------

/// One process's connection as the calls see it. A call is written to the
/// link by the thread that dispatches it, and answered on the link's own
/// thread (with its progress, logs and questions to the client), so that a
/// forwarded call crosses no mailbox. What concerns the process itself
/// (answers to its handshake, lists and pings, list changes, a line that
/// is not JSON-RPC, the end of the link) goes to its process actor.
class upstream_carrier {
public:
  upstream_carrier(upstream& svc, upstream_link& link, caf::actor_addr process)
    : svc_(svc), link_(&link), process_(std::move(process)) {
    limits_.max_message_bytes = svc.config().max_message_bytes;
    limits_.max_string_bytes = svc.config().max_message_bytes;
  }

  /// Sends a message of the process actor's own (or an answer to the
  /// upstream's request).
  void send(std::string json) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (link_ != nullptr)
      link_->send(std::move(json));
  }

  /// Writes `call` to the process; its answer completes it.
  void forward(const upstream_call_ptr& call) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (link_ == nullptr)
      return; // cannot happen: a slot is retired before its carrier closes
    pending_[static_cast<int64_t>(call->key)] = call;
    if (!broken_)
      last_sent_ = call.get();
    link_->send(call->request);
  }

  /// Tells the upstream that `call` is cancelled; false if it was not in
  /// flight here (answered already, or never sent).
  bool cancel(const upstream_call_ptr& call) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = pending_.find(static_cast<int64_t>(call->key));
    if (it == pending_.end() || link_ == nullptr)
      return false;
    pending_.erase(it);
    if (last_sent_ == call.get())
      last_sent_ = nullptr;
    link_->send(protocol::encode_notification(
      "notifications/cancelled",
      R"({"requestId":)" + std::to_string(call->key) + R"(,"reason":"cancelled by the client"})"));
    return true;
  }

  /// Nothing is sent from now on; the calls in flight, and the one sent
  /// last if the process died after it (null if it was stopped from
  /// outside or answered everything).
  std::pair<std::vector<upstream_call_ptr>, const upstream_call*> close() {
    std::lock_guard<std::mutex> guard{mtx_};
    link_ = nullptr;
    std::vector<upstream_call_ptr> out;
    for (auto& [id, call] : pending_)
      out.push_back(call);
    pending_.clear();
    return {std::move(out), last_sent_};
  }

  // -- on the link's thread -----------------------------------------------------

  void on_line(std::string text) {
    if (broken())
      return;
    auto m = std::make_shared<message>();
    auto start = snippet(text);
    if (auto err = protocol::decode(std::move(text), *m, limits_)) {
      on_closed("it wrote something that is not JSON-RPC (" + err->message + "): " + start);
      return;
    }
    switch (m->kind) {
      case message_kind::result:
      case message_kind::error:
        if (m->id.is_integer())
          if (auto call = take(m->id.integer())) {
            answered(call, *m);
            return;
          }
        tell(message_atom::value, std::move(m));
        return;
      case message_kind::notification:
        on_notification(std::move(m));
        return;
      case message_kind::request:
        on_request(*m);
        return;
    }
  }

  void on_closed(std::string why) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (broken_)
        return;
      broken_ = true;
    }
    tell(closed_atom::value, std::move(why));
  }

private:
  /// A message to the process actor, if it still lives (the carrier holds
  /// it weakly: a detached actor's thread waits for its last reference).
  template <class... Ts>
  void tell(Ts&&... xs) {
    if (auto p = caf::actor_cast<caf::actor>(process_))
      caf::anon_send(p, std::forward<Ts>(xs)...);
  }

  bool broken() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return broken_;
  }

  upstream_call_ptr take(int64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = pending_.find(id);
    if (it == pending_.end())
      return nullptr;
    auto call = std::move(it->second);
    pending_.erase(it);
    if (last_sent_ == call.get())
      last_sent_ = nullptr;
    return call;
  }

  upstream_call_ptr find(int64_t id) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = pending_.find(id);
    return it == pending_.end() ? nullptr : it->second;
  }

  /// The call a notification or request of the upstream belongs to when it
  /// names none: the one in flight if there is only one, else the one sent
  /// last.
  upstream_call_ptr attributed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pending_.size() == 1)
      return pending_.begin()->second;
    for (auto& [id, call] : pending_)
      if (call.get() == last_sent_)
        return call;
    return nullptr;
  }

  void answered(const upstream_call_ptr& call, const message& m) {
    auto took = std::chrono::steady_clock::now() - call->started;
    bool error = m.kind == message_kind::error || m.result == nullptr;
    auto round = svc_.round_of(call);
    svc_.finished(call, took, error);
    if (error) {
      auto* code_member = protocol::find_member(m.error, "code");
      int code = code_member != nullptr && code_member->IsInt() ? code_member->GetInt()
                                                                : protocol::errc::internal_error;
      if (call->what == upstream_call::kind::resource
          && code == protocol::errc::resource_not_found) {
        round.done(protocol::read_result::missing());
        return;
      }
      auto text = protocol::as_string(protocol::find_member(m.error, "message"));
      svc_.fail(call, text ? std::string{*text} : std::string{"the upstream failed"},
                upstream_data(svc_.name(), R"(,"code":)" + std::to_string(code)));
      return;
    }
    switch (call->what) {
      case upstream_call::kind::tool:
        round.done(protocol::tool_result_from_upstream(*m.result));
        return;
      case upstream_call::kind::resource:
        round.done(protocol::read_result_from_upstream(*m.result));
        return;
      case upstream_call::kind::prompt:
        round.done(protocol::prompt_result_from_upstream(*m.result));
        return;
    }
  }

  void on_notification(std::shared_ptr<message> mp) {
    auto& m = *mp;
    if (m.method == "notifications/progress") {
      auto id = integer_of(protocol::find_member(m.params, "progressToken"));
      auto call = id ? find(*id) : nullptr;
      auto* p = protocol::find_member(m.params, "progress");
      if (call == nullptr || p == nullptr || !p->IsNumber())
        return;
      auto round = svc_.round_of(call);
      if (!round.pending())
        return;
      auto* total = protocol::find_member(m.params, "total");
      auto text = protocol::as_string(protocol::find_member(m.params, "message"));
      round.context().progress(p->GetDouble(),
                               total != nullptr && total->IsNumber()
                                 ? std::optional<double>{total->GetDouble()}
                                 : std::nullopt,
                               text.value_or(""));
      return;
    }
    if (m.method == "notifications/message") {
      auto call = attributed();
      auto round = call != nullptr ? svc_.round_of(call) : protocol::deferred_round{};
      if (!round.pending())
        return;
      auto lvl = protocol::parse_log_level(
        protocol::as_string(protocol::find_member(m.params, "level")).value_or("info"));
      auto* data = protocol::find_member(m.params, "data");
      std::string text = data == nullptr ? std::string{}
                         : data->IsString() ? std::string{data->GetString(), data->GetStringLength()}
                                            : protocol::to_json(*data);
      auto logger = protocol::as_string(protocol::find_member(m.params, "logger"));
      round.context().log(lvl.value_or(protocol::log_level::info), text, logger.value_or(""));
      return;
    }
    if (m.method == "notifications/resources/updated") {
      if (auto uri = protocol::as_string(protocol::find_member(m.params, "uri")))
        svc_.resource_updated(*uri);
      return;
    }
    if (m.method == "notifications/tools/list_changed"
        || m.method == "notifications/resources/list_changed"
        || m.method == "notifications/prompts/list_changed")
      tell(relist_atom::value);
    // notifications/cancelled and others: nothing to do
  }

  void on_request(const message& m) {
    if (m.method == "ping") {
      send(protocol::encode_result(m.id, "{}"));
      return;
    }
    auto params = m.params != nullptr ? protocol::to_json(*m.params) : std::string{"{}"};
    auto request = protocol::input_request::forward(m.method, params);
    if (!request) {
      send(protocol::encode_error(m.id, protocol::errc::method_not_found,
                                  "mcpvisor does not pass " + std::string{m.method}
                                    + " on to clients"));
      return;
    }
    auto call = attributed();
    if (call != nullptr && svc_.ask(call, m.id.to_json(), *request))
      return; // the client of `call` answers, through upstream::forward
    if (m.method == "roots/list") {
      // asked outside any call (servers ask at start): no roots to offer
      send(protocol::encode_result(m.id, R"({"roots":[]})"));
      return;
    }
    send(protocol::encode_error(
      m.id, protocol::errc::invalid_request,
      call == nullptr ? "no client request is waiting for this " + std::string{m.method}
                      : "the client of this call cannot answer " + std::string{m.method}));
  }

  upstream& svc_;
  protocol::decode_limits limits_;
  mutable std::mutex mtx_;
  upstream_link* link_;
  caf::actor_addr process_;
  std::unordered_map<int64_t, upstream_call_ptr> pending_;
  const upstream_call* last_sent_ = nullptr;
  /// The link ended or wrote garbage: the process actor stops it.
  bool broken_ = false;
};

namespace {

// -- the process actor ---------------------------------------------------------

/// Drives one link: starts it (after its backoff), initializes the
/// upstream, lists what it offers when asked, pings it, and crashes (to be
/// restarted by its supervisor) when the link misbehaves. Calls do not pass
/// through it (see upstream_carrier). Detached: stopping a process may wait
/// for its grace period, which no scheduler thread should.
class process_actor : public caf::event_based_actor {
public:
  process_actor(caf::actor_config& cfg, upstream_ptr svc, size_t index,
                link_factory make_link)
    : caf::event_based_actor(cfg), svc_(std::move(svc)), index_(index),
      make_link_(std::move(make_link)) {
    // nop
  }

  const char* name() const override {
    return "upstream-process";
  }

  caf::behavior make_behavior() override {
    sup::keep_crash_text(this);
    auto delay = svc_->started(index_, caf::actor_cast<caf::actor>(this));
    delayed_send(this, delay, spawn_atom::value);
    return {
      [this](spawn_atom) { spawn(); },
      [this](message_atom, std::shared_ptr<message>& m) { on_response(*m); },
      [this](closed_atom, std::string& why) { throw std::runtime_error(why); },
      [this](tick_atom) { tick(); },
      [this](relist_atom) { list(); },
      [this](subscribe_atom, std::string& uri, bool on) {
        if (ready_)
          request(on ? "resources/subscribe" : "resources/unsubscribe",
                  protocol::forward_read_params(uri), [](const message&) {});
      },
      [this](kill_atom, std::string& why) {
        stopped_from_outside_ = true;
        throw std::runtime_error(why);
      },
    };
  }

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    // no call is sent here from now on
    svc_->retire(index_, address());
    std::vector<upstream_call_ptr> orphans;
    const upstream_call* culprit = nullptr;
    if (carrier_)
      std::tie(orphans, culprit) = carrier_->close();
    // stop the process (and reap it) before its calls are handed back, so
    // that a call run again never overlaps with the one that is stopping
    if (link_) {
      link_->stop();
      link_.reset();
    }
    // a process stopped from outside (chaos, a missed ping, shutdown) did
    // not die of the call it was sent last
    if (stopped_from_outside_)
      culprit = nullptr;
    std::string why = "stopped";
    if (reason && !sup::is(reason, sup::sup_errc::shutdown)
        && reason != caf::exit_reason::user_shutdown)
      why = sup::describe(reason);
    if (constexpr std::string_view crash = "supervisor:crashed: "; why.rfind(crash, 0) == 0)
      why.erase(0, crash.size());
    svc_->gone(index_, std::move(orphans), culprit, why);
    return caf::event_based_actor::cleanup(std::move(reason), host);
  }

private:
  using internal_handler = std::function<void(const message&)>;

  const upstream_config& cfg() const noexcept {
    return svc_->config();
  }

  void spawn() {
    link_ = make_link_(cfg(), index_);
    carrier_ = std::make_shared<upstream_carrier>(*svc_, *link_, address());
    auto err = link_->start([c = carrier_](std::string text) { c->on_line(std::move(text)); },
                            [c = carrier_](std::string why) { c->on_closed(std::move(why)); });
    if (err)
      throw std::runtime_error(*err);
    request("initialize",
            protocol::upstream_initialize_params("mcpvisor", protocol::server_info{}.version),
            [this](const message& m) { on_initialized(m); });
    deadline_ = std::chrono::steady_clock::now() + cfg().start_timeout;
    delayed_send(this, tick_interval(), tick_atom::value);
  }

  std::chrono::milliseconds tick_interval() const {
    auto every = std::min(cfg().ping_timeout, cfg().start_timeout);
    if (cfg().per_session())
      every = std::min(every, cfg().idle_timeout);
    return std::max(std::chrono::milliseconds{100}, every / 2);
  }

  void on_initialized(const message& m) {
    if (m.kind != message_kind::result || m.result == nullptr)
      throw std::runtime_error("it refused initialize: " + to_text(m));
    auto* caps = protocol::find_member(m.result, "capabilities");
    auto has = [caps](const char* what) {
      return protocol::find_member(caps, what) != nullptr;
    };
    offers_tools_ = has("tools");
    offers_resources_ = has("resources");
    offers_prompts_ = has("prompts");
    carrier_->send(protocol::encode_notification("notifications/initialized", {}));
    ready_ = true;
    svc_->ready(index_, caf::actor_cast<caf::actor>(this), carrier_, link_->info());
    next_ping_ = std::chrono::steady_clock::now() + cfg().ping_timeout;
  }
  /// Asks the upstream for everything it lists and hands it to the
  /// upstream object.
  void list() {
    if (!ready_ || listing_)
      return;
    listing_ = true;
    auto offer = std::make_shared<upstream_offer>();
    auto steps = std::make_shared<std::vector<std::function<void(std::function<void()>)>>>();
    auto prefix = cfg().name_prefix();
    if (offers_tools_)
      steps->push_back([this, offer, prefix](std::function<void()> next) {
        page("tools/list", "tools", [offer, prefix](const protocol::json_value& t) {
          std::string why;
          std::string note;
          if (auto d = protocol::tool_from_upstream(t, prefix, why, note))
            offer->tools.push_back(std::move(*d));
          else
            offer->notes.push_back(why);
          if (!note.empty())
            offer->notes.push_back(note);
        }, std::move(next));
      });
    if (offers_resources_) {
      steps->push_back([this, offer](std::function<void()> next) {
        page("resources/list", "resources", [offer](const protocol::json_value& r) {
          std::string why;
          if (auto d = protocol::resource_from_upstream(r, why))
            offer->resources.push_back(std::move(*d));
          else
            offer->notes.push_back(why);
        }, std::move(next));
      });
      steps->push_back([this, offer](std::function<void()> next) {
        page("resources/templates/list", "resourceTemplates",
             [offer](const protocol::json_value& t) {
               std::string why;
               if (auto d = protocol::template_from_upstream(t, why))
                 offer->templates.push_back(std::move(*d));
               else
                 offer->notes.push_back(why);
             },
             std::move(next));
      });
    }
    if (offers_prompts_)
      steps->push_back([this, offer, prefix](std::function<void()> next) {
        page("prompts/list", "prompts", [offer, prefix](const protocol::json_value& p) {
          std::string why;
          if (auto d = protocol::prompt_from_upstream(p, prefix, why))
            offer->prompts.push_back(std::move(*d));
          else
            offer->notes.push_back(why);
        }, std::move(next));
      });
    run_steps(steps, 0, [this, offer] {
      listing_ = false;
      svc_->offer(std::move(*offer));
    });
  }

  void run_steps(std::shared_ptr<std::vector<std::function<void(std::function<void()>)>>> steps,
                 size_t i, std::function<void()> done) {
    if (i == steps->size()) {
      done();
      return;
    }
    (*steps)[i]([this, steps, i, done] { run_steps(steps, i + 1, done); });
  }

  /// Lists one kind, following nextCursor (at most 100 pages).
  void page(std::string method, std::string field,
            std::function<void(const protocol::json_value&)> each,
            std::function<void()> done, std::string cursor = {}, int pages = 0) {
    std::string params = cursor.empty() ? "{}" : R"({"cursor":)" + quoted(cursor) + "}";
    request(method, params, [=, this](const message& m) {
      if (m.kind != message_kind::result || m.result == nullptr) {
        // a list the upstream cannot give is an empty one
        log::warn("upstream list failed",
                  {{"upstream", cfg().name}, {"method", method}, {"error", to_text(m)}});
        done();
        return;
      }
      if (auto* items = protocol::find_member(m.result, field); items != nullptr && items->IsArray())
        for (auto& item : items->GetArray())
          if (item.IsObject())
            each(item);
      auto next = protocol::as_string(protocol::find_member(m.result, "nextCursor"));
      if (next && !next->empty() && pages < 100)
        page(method, field, each, done, std::string{*next}, pages + 1);
      else
        done();
    });
  }

  void request(const std::string& method, const std::string& params,
               internal_handler then) {
    // string ids: integers name forwarded calls (see upstream_carrier)
    auto id = "mcpvisor-" + std::to_string(next_id_++);
    carrier_->send(protocol::encode_request(protocol::request_id{id}, method, params));
    internal_[std::move(id)] = std::move(then);
  }

  void tick() {
    auto now = std::chrono::steady_clock::now();
    if (!ready_ && now > deadline_)
      throw std::runtime_error("it did not answer initialize within "
                               + std::to_string(cfg().start_timeout.count()) + " ms");
    if (ready_) {
      if (ping_out_ && now > ping_due_) {
        stopped_from_outside_ = true;
        throw std::runtime_error("it did not answer a ping within "
                                 + std::to_string(cfg().ping_timeout.count()) + " ms");
      }
      if (!ping_out_ && now >= next_ping_) {
        ping_out_ = true;
        ping_due_ = now + cfg().ping_timeout;
        request("ping", "{}", [this](const message&) {
          ping_out_ = false;
          next_ping_ = std::chrono::steady_clock::now() + cfg().ping_timeout;
        });
      }
      svc_->tick(index_);
    }
    delayed_send(this, tick_interval(), tick_atom::value);
  }

  void on_response(const message& m) {
    if (!m.id.is_integer() && !m.id.empty())
      if (auto it = internal_.find(m.id.string()); it != internal_.end()) {
        auto then = std::move(it->second);
        internal_.erase(it);
        then(m);
        return;
      }
    log::warn("upstream answered a request it was not sent",
              {{"upstream", cfg().name}, {"id", m.id.to_json()}});
  }

  std::string to_text(const message& m) const {
    if (m.error != nullptr)
      return protocol::to_json(*m.error);
    return "an answer without a result";
  }

  upstream_ptr svc_;
  size_t index_;
  link_factory make_link_;
  std::unique_ptr<upstream_link> link_;
  std::shared_ptr<upstream_carrier> carrier_;
  std::chrono::steady_clock::time_point deadline_;
  int64_t next_id_ = 1;
  std::unordered_map<std::string, internal_handler> internal_;
  bool ready_ = false;
  bool listing_ = false;
  bool offers_tools_ = false;
  bool offers_resources_ = false;
  bool offers_prompts_ = false;
  bool ping_out_ = false;
  bool stopped_from_outside_ = false;
  std::chrono::steady_clock::time_point ping_due_;
  std::chrono::steady_clock::time_point next_ping_;
};
} // namespace

// -- upstream -----------------------------------------------------------------

upstream::upstream(runtime& rt, upstream_config cfg, link_factory make_link)
  : rt_(rt), cfg_(std::move(cfg)), make_link_(std::move(make_link)),
    slots_(cfg_.per_session() ? 1 + std::max<size_t>(1, cfg_.max_processes)
                              : std::max<size_t>(1, cfg_.processes)) {
  // nop
}

sup::child_spec upstream::child_spec() {
  install_fallback();
  sup::supervisor_spec spec;
  spec.id = "upstream-" + cfg_.name;
  spec.flags = {sup::strategy::one_for_one, cfg_.intensity,
                std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.period)};
  // per-session: only the lister at first; the sessions' processes are
  // added as they are needed (place_locked)
  if (cfg_.per_session())
    spec.children.push_back(process_spec(0, "lister", sup::restart_type::permanent));
  else
    for (size_t i = 0; i < slots_.size(); ++i)
      spec.children.push_back(
        process_spec(i, "process-" + std::to_string(i), sup::restart_type::permanent));
  auto child = sup::supervisor_child(spec.id, [spec](const sup::start_context&) {
    return spec;
  });
  // the root never restarts it (nor counts it against its intensity): the
  // upstream does, after `retry_after`, once it is down
  child.restart = sup::restart_type::temporary;
  child.start = [inner = std::move(child.start), weak = weak_from_this()](
                  const sup::start_context& ctx) -> caf::expected<caf::actor> {
    auto res = inner(ctx);
    if (res) {
      if (auto self = weak.lock()) {
        std::lock_guard<std::mutex> guard{self->mtx_};
        self->sup_ = *res;
      }
      (*res)->attach_functor([weak](const caf::error& reason) {
        if (auto self = weak.lock())
          self->stopped(sup::describe(reason));
      });
    }
    return res;
  };
  return child;
}

sup::child_spec upstream::process_spec(size_t index, std::string id, sup::restart_type restart) {
  sup::child_spec c;
  c.id = std::move(id);
  c.restart = restart;
  c.shutdown = sup::shutdown_policy::timeout(cfg_.kill_grace + std::chrono::seconds{1});
  c.start = [self = shared_from_this(), index](const sup::start_context& ctx)
    -> caf::expected<caf::actor> {
    return ctx.system.spawn<process_actor, caf::detached>(self, index, self->make_link_);
  };
  return c;
}

std::chrono::milliseconds upstream::started(size_t index, caf::actor self) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = slots_[index];
  auto now = std::chrono::steady_clock::now();
  s.started = now;
  s.ready = false;
  s.actor = std::move(self);
  // exponential backoff over the starts of the last period
  s.recent_starts.erase(std::remove_if(s.recent_starts.begin(), s.recent_starts.end(),
                                       [&](auto t) { return now - t > cfg_.period; }),
                        s.recent_starts.end());
  auto n = s.recent_starts.size();
  s.recent_starts.push_back(now);
  if (s.starts++ > 0)
    restarts_total_.fetch_add(1, std::memory_order_relaxed);
  if (n == 0)
    return std::chrono::milliseconds{0};
  auto ms = std::min<double>(10000.0, 100.0 * std::pow(2.0, static_cast<double>(n - 1)));
  return std::chrono::milliseconds{static_cast<int64_t>(ms)};
}

void upstream::ready(size_t index, caf::actor process, std::shared_ptr<upstream_carrier> carrier,
                     link_info info) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = slots_[index];
    s.actor = process;
    s.carrier = std::move(carrier);
    s.ready = true;
    s.in_flight = 0;
    s.info = std::move(info);
    if (down_) {
      down_ = false;
      down_reason_.clear();
    }
    drain_queue_locked();
  }
  log::info("upstream ready", {{"upstream", cfg_.name}, {"process", std::to_string(index)}});
  // every ready process of a pool (and the lister) refreshes what the
  // upstream offers: cheap, and a restarted server may offer something
  // else; it also gets the clients' subscriptions, so that a fresh
  // process sends their updates
  if (!cfg_.per_session() || index == 0)
    caf::anon_send(process, relist_atom::value);
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [uri, n] : subscribed_)
    caf::anon_send(process, subscribe_atom::value, uri, true);
}

bool upstream::owns(std::string_view uri) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (cfg_.name_prefix().empty())
    return true;
  if (!offered_)
    return false;
  for (auto& r : offered_->resources)
    if (r.uri == uri)
      return true;
  for (auto& t : offered_templates_)
    if (t.match(uri))
      return true;
  return false;
}

void upstream::subscription(std::string_view uri, bool on) {
  if (!owns(uri))
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = subscribed_.find(uri);
  if (on) {
    if (it != subscribed_.end()) {
      ++it->second;
      return;
    }
    subscribed_.emplace(std::string{uri}, 1);
  } else {
    if (it == subscribed_.end() || --it->second > 0)
      return;
    subscribed_.erase(it);
  }
  for (auto& sl : slots_)
    if (sl.ready)
      caf::anon_send(sl.actor, subscribe_atom::value, std::string{uri}, on);
}

void upstream::install_fallback() {
  if (!cfg_.name_prefix().empty())
    return;
  // without a prefix the upstream also answers for what it does not list
  // (or what a client asks for before it listed)
  auto weak = weak_from_this();
  protocol::fallback_definition f;
  f.timeout = cfg_.call_timeout;
  f.tool = [weak](protocol::call_context& ctx) -> protocol::tool_result {
    auto self = weak.lock();
    if (self == nullptr)
      throw protocol::tool_error("the upstream is gone");
    return self->call_tool(ctx, ctx.name(), false);
  };
  f.read = reader();
  f.prompt = [weak](protocol::call_context& ctx) -> protocol::prompt_result {
    auto self = weak.lock();
    if (self == nullptr)
      throw protocol::tool_error("the upstream is gone");
    return self->get_prompt(ctx, ctx.name());
  };
  rt_.server()->cat().set_fallback(std::move(f));
}

protocol::read_handler upstream::reader() {
  return [weak = weak_from_this()](protocol::call_context& ctx) -> protocol::read_result {
    auto self = weak.lock();
    return self == nullptr ? protocol::read_result::missing() : self->read_resource(ctx);
  };
}

void upstream::install(const upstream_offer& offer, bool listed) {
  auto& cat = rt_.server()->cat();
  auto weak = weak_from_this();

  cat.update([&] {
    for (auto t : offer.tools) {
      t.listed = listed;
      auto own = t.name.substr(cfg_.name_prefix().size());
      bool replayable = t.annotations.read_only.value_or(false)
                        || t.annotations.idempotent.value_or(false);
      t.timeout = cfg_.call_timeout;
      t.handler = [weak, own, replayable](protocol::call_context& ctx) -> protocol::tool_result {
        auto self = weak.lock();
        if (self == nullptr)
          throw protocol::tool_error("the upstream is gone");
        return self->call_tool(ctx, own, replayable);
      };
      if (auto err = cat.add_tool(std::move(t)))
        log::warn("upstream tool left out", {{"upstream", cfg_.name}, {"reason", *err}});
    }
    // resources and templates are read the same way: by URI
    auto read = reader();
    for (auto r : offer.resources) {
      r.listed = listed;
      r.handler = read;
      if (auto err = cat.add_resource(std::move(r)))
        log::warn("upstream resource left out", {{"upstream", cfg_.name}, {"reason", *err}});
    }
    for (auto t : offer.templates) {
      t.listed = listed;
      t.handler = read;
      if (auto err = cat.add_resource_template(std::move(t)))
        log::warn("upstream template left out", {{"upstream", cfg_.name}, {"reason", *err}});
    }
    for (auto p : offer.prompts) {
      p.listed = listed;
      auto own = p.name.substr(cfg_.name_prefix().size());
      p.handler = [weak, own](protocol::call_context& ctx) -> protocol::prompt_result {
        auto self = weak.lock();
        if (self == nullptr)
          throw protocol::tool_error("the upstream is gone");
        return self->get_prompt(ctx, own);
      };
      if (auto err = cat.add_prompt(std::move(p)))
        log::warn("upstream prompt left out", {{"upstream", cfg_.name}, {"reason", *err}});
    }
  });
}

void upstream::offer(upstream_offer offer) {
  for (auto& note : offer.notes)
    log::warn("upstream entry", {{"upstream", cfg_.name}, {"note", note}});
  std::optional<upstream_offer> before;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    before = std::move(offered_);
  }
  auto& cat = rt_.server()->cat();
  // what it no longer offers leaves; what it offers is (re)added
  cat.update([&] {
    if (before) {
      auto has = [](const auto& v, auto key) {
        return std::any_of(v.begin(), v.end(), key);
      };
      for (auto& t : before->tools)
        if (!has(offer.tools, [&](auto& n) { return n.name == t.name; }))
          cat.remove_tool(t.name);
      for (auto& r : before->resources)
        if (!has(offer.resources, [&](auto& n) { return n.uri == r.uri; }))
          cat.remove_resource(r.uri);
      for (auto& t : before->templates)
        if (!has(offer.templates, [&](auto& n) { return n.uri_template == t.uri_template; }))
          cat.remove_resource_template(t.uri_template);
      for (auto& p : before->prompts)
        if (!has(offer.prompts, [&](auto& n) { return n.name == p.name; }))
          cat.remove_prompt(p.name);
    }
    install(offer, true);
  });
  log::info("upstream offers",
            {{"upstream", cfg_.name},
             {"tools", std::to_string(offer.tools.size())},
             {"resources", std::to_string(offer.resources.size())},
             {"templates", std::to_string(offer.templates.size())},
             {"prompts", std::to_string(offer.prompts.size())}});
  std::vector<protocol::uri_template> templates;
  for (auto& t : offer.templates)
    if (auto compiled = protocol::uri_template::parse(t.uri_template))
      templates.push_back(std::move(*compiled));
  std::lock_guard<std::mutex> guard{mtx_};
  offered_ = std::move(offer);
  offered_templates_ = std::move(templates);
}

void upstream::retire(size_t index, const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = slots_[index];
  if (caf::actor_cast<caf::actor_addr>(s.actor) != who)
    return;
  s.was_ready = s.ready;
  s.ready = false;
  s.actor = caf::actor{};
  s.carrier = nullptr;
}

void upstream::gone(size_t index, std::vector<upstream_call_ptr> orphans,
                    const upstream_call* culprit, std::string why) {
  std::vector<upstream_call_ptr> failed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = slots_[index];
    bool was_ready = s.was_ready && !s.releasing;
    s.was_ready = false;
    if (why != "not ready")
      s.last_exit = why;
    if (s.releasing) {
      // a per-session process stopped on purpose: the slot is free
      s = process_slot{};
    }
    for (auto& call : orphans) {
      if (call->finished)
        continue; // accounted for when it finished
      if (s.in_flight > 0)
        --s.in_flight;
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      call->carrier = nullptr;
      if (call->cancelled) {
        call->finished = true;
        calls_.erase(call->key);
        continue;
      }
      bool again = call->replayable && call.get() != culprit && call->attempts < 2
                   && !call->waiting;
      if (again && !rt_.stopping()) {
        ++call->attempts;
        queue_.push_front(call);
      } else {
        failed.push_back(call);
      }
    }
    if (was_ready && !rt_.stopping())
      log::warn("upstream process stopped",
                {{"upstream", cfg_.name}, {"process", std::to_string(index)}, {"reason", why},
                 {"calls_failed", std::to_string(failed.size())}});
    drain_queue_locked();
  }
  for (auto& call : failed)
    fail(call, "the upstream " + cfg_.name + " restarted while this call was in flight; "
                 "it may or may not have completed",
         upstream_data(cfg_.name, R"(,"upstreamRestarted":true)"));
}

void upstream::finished(const upstream_call_ptr& call, std::chrono::nanoseconds took,
                        bool error) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (call->finished)
      return;
    call->finished = true;
    for (auto& s : slots_)
      if (s.carrier != nullptr && s.carrier == call->carrier) {
        if (s.in_flight > 0)
          --s.in_flight;
        s.last_used = std::chrono::steady_clock::now();
      }
    calls_.erase(call->key);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    drain_queue_locked();
  }
  calls_total_.fetch_add(1, std::memory_order_relaxed);
  if (error)
    errors_total_.fetch_add(1, std::memory_order_relaxed);
  double s = std::chrono::duration<double>(took).count();
  size_t b = 0;
  while (b < metrics::bounds.size() && s > metrics::bounds[b])
    ++b;
  latency_[b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(took.count()), std::memory_order_relaxed);
}

void upstream::stopped(std::string why) {
  std::vector<upstream_call_ptr> failed;
  std::optional<upstream_offer> offered;
  bool stopping = rt_.stopping();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    down_ = true;
    // the supervisor says how often; its processes say why
    std::string last;
    for (auto& sl : slots_)
      if (!sl.last_exit.empty() && sl.last_exit != "stopped")
        last = sl.last_exit;
    if (!last.empty())
      why = "its process keeps stopping (" + last + "): " + why;
    down_reason_ = stopping ? std::string{"the server is stopping"} : why;
    retry_at_ = std::chrono::steady_clock::now() + cfg_.retry_after;
    for (auto& s : slots_) {
      s.ready = false;
      s.actor = caf::actor{};
      // the sessions' processes went with the supervisor
      s.owner.clear();
      s.child_id.clear();
      s.releasing = false;
    }
    sup_ = caf::actor{};
    for (auto& c : queue_)
      failed.push_back(c);
    queue_.clear();
    offered = offered_;
  }
  for (auto& call : failed)
    fail(call, "the upstream " + cfg_.name + " is down: " + why, upstream_data(cfg_.name));
  if (stopping)
    return;
  log::error("upstream down",
             {{"upstream", cfg_.name}, {"reason", why},
              {"retry_in_ms", std::to_string(cfg_.retry_after.count())}});
  // its entries leave the lists; a client that calls one anyway is told
  // that the upstream is down
  if (offered)
    install(*offered, false);
  if (auto root = rt_.root())
    caf::delayed_anon_send(root, cfg_.retry_after, sup::start_child_atom::value, child_spec());
}

protocol::deferred_round upstream::round_of(const upstream_call_ptr& call) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return call->round;
}

void upstream::fail(const upstream_call_ptr& call, std::string_view text,
                    std::string_view data_json, int http_status) {
  protocol::deferred_round round;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    call->finished = true;
    calls_.erase(call->key);
    round = call->round;
  }
  round.fail(text, data_json, http_status);
}

// -- calls --------------------------------------------------------------------

void upstream::dispatch(const upstream_call_ptr& call) {
  if (cfg_.per_session() && call->session.empty()) {
    // not a matter of time: no 503
    fail(call,
         "the upstream " + cfg_.name
           + " runs one process per client session (mode = \"per-session\"), and a stateless "
             "2026-07-28 request has none: open a 2025-11-25 session to use its tools, or "
             "configure it with mode = \"shared\"",
         upstream_data(cfg_.name, R"(,"mode":"per-session")"));
    return;
  }
  std::string refusal;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (down_) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(
                    retry_at_ - std::chrono::steady_clock::now())
                    .count();
      refusal = "the upstream " + cfg_.name + " is down (" + down_reason_ + "); it is tried again "
                + (left > 0 ? "in " + std::to_string(left) + " s" : "soon");
    } else if (in_flight_.load() >= cfg_.max_in_flight && queue_.size() >= cfg_.max_queued) {
      refusal = "the upstream " + cfg_.name + " is saturated (" + std::to_string(cfg_.max_in_flight)
                + " calls in flight and " + std::to_string(cfg_.max_queued)
                + " waiting); retry later";
    } else if (auto why = cfg_.per_session() ? place_locked(*call) : std::nullopt) {
      refusal = std::move(*why);
    } else {
      calls_[call->key] = call;
      dispatch_locked(call);
      return;
    }
  }
  // down, saturated, or no process to spare: a refusal that passes, so
  // 503 with Retry-After on a JSON answer
  fail(call, refusal, upstream_data(cfg_.name, R"(,"retryAfterMs":1000)"), 503);
}

std::optional<std::string> upstream::place_locked(const upstream_call& call) {
  auto now = std::chrono::steady_clock::now();
  process_slot* free = nullptr;
  for (size_t i = 1; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    if (s.owner == call.session) {
      s.last_used = now;
      return std::nullopt;
    }
    if (free == nullptr && s.owner.empty() && !s.releasing && !s.actor)
      free = &s;
  }
  if (free == nullptr || !sup_)
    return "the upstream " + cfg_.name + " runs one process per client session and all "
           + std::to_string(slots_.size() - 1)
           + " it may start (max_processes) serve other sessions; retry later, or end an "
             "idle session";
  auto index = static_cast<size_t>(free - slots_.data());
  free->owner = call.session;
  free->last_used = now;
  free->child_id = "session-" + std::to_string(next_child_++);
  caf::anon_send(sup_, sup::start_child_atom::value,
                 process_spec(index, free->child_id, sup::restart_type::transient));
  return std::nullopt;
}

void upstream::release_locked(size_t index, std::string_view why) {
  auto& s = slots_[index];
  if (s.child_id.empty() || s.releasing)
    return;
  log::info("upstream process stops",
            {{"upstream", cfg_.name}, {"process", std::to_string(index)}, {"reason", why}});
  // free once its process is gone (gone()); one that is starting or
  // restarting still gets there, as the supervisor stops it in order
  s.owner.clear();
  s.releasing = true;
  s.ready = false;
  // a transient child stopped on purpose is not restarted; deleting it
  // keeps the supervisor's table to the live sessions
  caf::anon_send(sup_, sup::terminate_child_atom::value, s.child_id);
  caf::anon_send(sup_, sup::delete_child_atom::value, s.child_id);
}

void upstream::tick(size_t index) {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::weak_ptr<upstream_call>> abandoned;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = slots_[index];
    if (cfg_.per_session() && index > 0 && !s.owner.empty() && s.in_flight == 0
        && now - s.last_used >= cfg_.idle_timeout)
      release_locked(index, "idle for " + std::to_string(cfg_.idle_timeout.count()) + " ms");
    for (auto& [key, weak] : calls_)
      if (auto call = weak.lock(); call && call->waiting && now > call->waiting->until)
        abandoned.push_back(weak);
  }
  for (auto& weak : abandoned)
    cancel(weak);
}

void upstream::session_ended(std::string_view session) {
  if (!cfg_.per_session())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  for (size_t i = 1; i < slots_.size(); ++i)
    if (slots_[i].owner == session)
      release_locked(i, "its session ended");
}

upstream::process_slot* upstream::target_locked(const upstream_call& call) {
  if (in_flight_.load() >= cfg_.max_in_flight)
    return nullptr;
  process_slot* best = nullptr;
  if (cfg_.per_session()) {
    for (size_t i = 1; i < slots_.size(); ++i)
      if (slots_[i].owner == call.session)
        return slots_[i].ready ? &slots_[i] : nullptr;
    return nullptr;
  }
  for (auto& s : slots_)
    if (s.ready && (best == nullptr || s.in_flight < best->in_flight))
      best = &s;
  return best;
}

void upstream::hand_locked(process_slot& s, const upstream_call_ptr& call) {
  ++s.in_flight;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  call->carrier = s.carrier;
  s.carrier->forward(call);
}

void upstream::dispatch_locked(const upstream_call_ptr& call) {
  if (auto* s = target_locked(*call))
    hand_locked(*s, call);
  else
    queue_.push_back(call);
}

void upstream::drain_queue_locked() {
  // in order; a call whose process is not ready yet (per-session) waits
  // without holding up the calls of other sessions behind it
  for (auto it = queue_.begin(); it != queue_.end() && in_flight_.load() < cfg_.max_in_flight;) {
    auto call = *it;
    if (call->cancelled || call->finished) {
      it = queue_.erase(it);
      continue;
    }
    auto* slot = target_locked(*call);
    if (slot == nullptr) {
      if (!cfg_.per_session())
        return; // no process is ready: none can take the others either
      ++it;
      continue;
    }
    it = queue_.erase(it);
    hand_locked(*slot, call);
  }
}

void upstream::cancel(const std::weak_ptr<upstream_call>& weak) {
  auto call = weak.lock();
  if (call == nullptr)
    return;
  std::shared_ptr<upstream_carrier> carrier;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (call->finished || call->cancelled)
      return;
    call->cancelled = true;
    auto it = std::find(queue_.begin(), queue_.end(), call);
    if (it != queue_.end()) {
      queue_.erase(it);
      calls_.erase(call->key);
      return;
    }
    carrier = call->carrier;
  }
  if (carrier != nullptr && carrier->cancel(call))
    finished(call, {}, true);
}

bool upstream::ask(const upstream_call_ptr& call, std::string id_json,
                   const protocol::input_request& request) {
  protocol::deferred_round round;
  std::string key;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (call->finished || call->cancelled || call->waiting || !call->round.pending())
      return false;
    key = "upstream-" + std::to_string(call->key) + "-" + id_json;
    call->waiting = upstream_call::ask{std::move(id_json), key, request,
                                       std::chrono::steady_clock::now() + cfg_.call_timeout};
    round = call->round;
  }
  auto& ctx = round.context();
  if (!ctx.client_supports(request.capability())) {
    // nothing to ask: the upstream hears so at once
    std::lock_guard<std::mutex> guard{mtx_};
    call->waiting.reset();
    return false;
  }
  ctx.set_state(R"({"upstream":)" + quoted(cfg_.name) + R"(,"call":)" + std::to_string(call->key)
                + "}");
  (void) ctx.ask(key, request);
  switch (call->what) {
    case upstream_call::kind::tool:
      round.done(protocol::tool_result{ctx.input_required()});
      break;
    case upstream_call::kind::resource:
      round.done(protocol::read_result{ctx.input_required()});
      break;
    case upstream_call::kind::prompt:
      round.done(protocol::prompt_result{ctx.input_required()});
      break;
  }
  return true;
}

template <class Result, class Encode>
Result upstream::forward(protocol::call_context& ctx, upstream_call_ptr call,
                         const Encode& encode) {
  // a round that answers a question the upstream asked the client
  if (auto* st = ctx.state()) {
    auto* k = protocol::find_member(st, "call");
    upstream_call_ptr waiting;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (k != nullptr && k->IsUint64())
        if (auto it = calls_.find(k->GetUint64()); it != calls_.end())
          waiting = it->second.lock();
    }
    if (waiting == nullptr || !waiting->waiting)
      throw protocol::tool_error("the upstream call this answers has ended");
    auto answer = ctx.ask(waiting->waiting->key, waiting->waiting->request);
    if (!answer)
      return ctx.input_required();
    std::string response = R"({"jsonrpc":"2.0","id":)" + waiting->waiting->id_json;
    response += answer->ok() ? R"(,"result":)" + protocol::to_json(*answer->result)
                             : R"(,"error":)" + protocol::to_json(*answer->error);
    response += '}';
    std::shared_ptr<upstream_carrier> carrier;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      waiting->waiting.reset();
      waiting->round = ctx.defer();
      carrier = waiting->carrier;
    }
    std::weak_ptr<upstream_call> weak = waiting;
    waiting->round.on_cancel([self = weak_from_this(), weak] {
      if (auto s = self.lock())
        s->cancel(weak);
    });
    if (!carrier)
      throw protocol::tool_error("the upstream process of this call has stopped");
    carrier->send(std::move(response));
    return ctx.answer_later();
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    call->key = next_key_++;
  }
  call->request = encode(call->key);
  call->session = ctx.session();
  call->started = std::chrono::steady_clock::now();
  call->round = ctx.defer();
  std::weak_ptr<upstream_call> weak = call;
  call->round.on_cancel([self = weak_from_this(), weak] {
    if (auto s = self.lock())
      s->cancel(weak);
  });
  dispatch(call);
  return ctx.answer_later();
}

protocol::tool_result upstream::call_tool(protocol::call_context& ctx, std::string_view name,
                                          bool replayable) {
  auto call = std::make_shared<upstream_call>();
  call->what = upstream_call::kind::tool;
  call->replayable = replayable;
  return forward<protocol::tool_result>(ctx, std::move(call), [&](uint64_t key) {
    // the key names the call: its request id and its progress token
    return protocol::encode_request(
      protocol::request_id{static_cast<int64_t>(key)}, "tools/call",
      protocol::forward_tool_params(name, ctx.arguments(), std::to_string(key)));
  });
}

protocol::read_result upstream::read_resource(protocol::call_context& ctx) {
  auto call = std::make_shared<upstream_call>();
  call->what = upstream_call::kind::resource;
  call->replayable = true; // reading does not change anything
  return forward<protocol::read_result>(ctx, std::move(call), [&](uint64_t key) {
    return protocol::encode_request(protocol::request_id{static_cast<int64_t>(key)},
                                    "resources/read", protocol::forward_read_params(ctx.uri()));
  });
}

protocol::prompt_result upstream::get_prompt(protocol::call_context& ctx, std::string_view name) {
  auto call = std::make_shared<upstream_call>();
  call->what = upstream_call::kind::prompt;
  call->replayable = true;
  return forward<protocol::prompt_result>(ctx, std::move(call), [&](uint64_t key) {
    return protocol::encode_request(protocol::request_id{static_cast<int64_t>(key)},
                                    "prompts/get",
                                    protocol::forward_prompt_params(name, ctx.arguments()));
  });
}

void upstream::resource_updated(std::string_view uri) {
  if (auto* srv = rt_.server())
    srv->cat().resource_updated(uri);
}

// -- admin --------------------------------------------------------------------

std::vector<upstream_process_info> upstream::processes() const {
  std::vector<upstream_process_info> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    bool lister = cfg_.per_session() && i == 0;
    if (cfg_.per_session() && !lister && s.owner.empty() && !s.actor)
      continue; // a free place for a session's process
    upstream_process_info p;
    p.index = i;
    p.role = !cfg_.per_session() ? "pool" : lister ? "lister" : "session";
    p.session = s.owner;
    p.ready = s.ready;
    p.pid = s.info.pid;
    p.started = s.started;
    p.restarts = s.starts > 0 ? s.starts - 1 : 0;
    p.in_flight = s.in_flight;
    p.last_exit = s.last_exit;
    p.stderr_tail = s.info.stderr_tail;
    out.push_back(std::move(p));
  }
  return out;
}

std::string upstream::state_text() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (down_)
    return "down: " + down_reason_;
  return std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return s.ready; }) ? "up"
                                                                                      : "starting";
}

void upstream::render_metrics(prometheus_text& p,
                              const std::vector<std::shared_ptr<upstream>>& all) {
  if (all.empty())
    return;
  auto label = [](const upstream& u) { return "upstream=" + quoted(u.cfg_.name); };
  auto counter = [&](const char* name, const char* type, const char* help, auto value) {
    p.family(name, type, help);
    for (auto& u : all)
      p.sample(name, label(*u), static_cast<uint64_t>(value(*u)));
  };
  counter("mcpvisor_upstream_calls_total", "counter", "Calls forwarded to an upstream server.",
          [](const upstream& u) { return u.calls_total_.load(); });
  counter("mcpvisor_upstream_errors_total", "counter",
          "Forwarded calls that ended with an error.",
          [](const upstream& u) { return u.errors_total_.load(); });
  counter("mcpvisor_upstream_restarts_total", "counter", "Upstream processes restarted.",
          [](const upstream& u) { return u.restarts_total_.load(); });
  counter("mcpvisor_upstream_calls_in_flight", "gauge", "Calls in flight to an upstream.",
          [](const upstream& u) { return u.in_flight(); });
  p.family("mcpvisor_upstream_call_duration_seconds", "histogram",
           "Time from forwarding a call to an upstream to its answer.");
  for (auto& u : all) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= metrics::bounds.size(); ++b) {
      cumulative += u->latency_[b].load();
      std::string le = "+Inf";
      if (b < metrics::bounds.size()) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", metrics::bounds[b]);
        le = buf;
      }
      p.sample("mcpvisor_upstream_call_duration_seconds_bucket",
               label(*u) + ",le=\"" + le + '"', cumulative);
    }
    p.sample("mcpvisor_upstream_call_duration_seconds_sum", label(*u),
             static_cast<double>(u->latency_sum_ns_.load()) * 1e-9);
    p.sample("mcpvisor_upstream_call_duration_seconds_count", label(*u), cumulative);
  }
}

std::vector<size_t> upstream::live_processes() const {
  std::vector<size_t> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].actor)
      out.push_back(i);
  return out;
}

bool upstream::kill_process(size_t index, const std::string& why) {
  caf::actor a;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (index >= slots_.size())
      return false;
    a = slots_[index].actor;
  }
  if (!a)
    return false;
  caf::anon_send<caf::message_priority::high>(a, kill_atom::value, why);
  return true;
}

} // namespace mcpvisor::actors
