#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "actors/metrics.hpp"
#include "actors/upstream_link.hpp"
#include "protocol/call_context.hpp"
#include "protocol/catalog.hpp"
#include "supervision/child_spec.hpp"

/// Upstream MCP servers under supervision: another server (a stdio process
/// in any language, or a Streamable HTTP URL) whose tools, resources and
/// prompts join our catalog, prefixed, and whose calls go through the same
/// engine as ours (both revisions, deadlines, the andon cord).
///
/// The tree: `upstream-NAME` is a supervisor under the root (a temporary
/// child: it never counts against the root's intensity), its children
/// `process-0..P-1` are the actors that drive one link each. A process that
/// exits, writes what is not JSON-RPC, or stops answering is stopped and
/// restarted with exponential backoff, within the upstream's intensity.
/// Past it the upstream is down: its entries leave the lists, calls get an
/// error naming it, and it is started again after `retry_after`.
namespace mcpvisor::actors {

class runtime;
class upstream;
class upstream_carrier;

/// One call forwarded to an upstream, from the handler that took it until
/// it is answered once.
struct upstream_call {
  enum class kind : uint8_t { tool, resource, prompt };

  kind what = kind::tool;
  /// The JSON-RPC request sent upstream (tools/call, resources/read,
  /// prompts/get) with the upstream's own name of the tool or prompt; its
  /// id is `key`.
  std::string request;
  /// Read-only or idempotent: run again on a fresh process if the one
  /// carrying it dies (unless it was the call that made it die).
  bool replayable = false;
  /// Unique per upstream; names the call across rounds.
  uint64_t key = 0;
  std::chrono::steady_clock::time_point started;
  unsigned attempts = 0;
  /// The client session it belongs to (per-session mode routes by it).
  std::string session;

  // -- guarded by the upstream's mutex --
  /// The round the client waits on (a new one after each input round).
  protocol::deferred_round round;
  /// The connection carrying it, if any.
  std::shared_ptr<upstream_carrier> carrier;
  bool cancelled = false;
  bool finished = false;

  /// A server-to-client request of the upstream (elicitation, sampling,
  /// roots) that waits for the client's answer.
  struct ask {
    /// The upstream's request id, encoded.
    std::string id_json;
    std::string key;
    protocol::input_request request;
    /// When the call is given up if the client has not answered.
    std::chrono::steady_clock::time_point until;
  };
  std::optional<ask> waiting;
};

using upstream_call_ptr = std::shared_ptr<upstream_call>;

/// What an upstream lists, turned into our definitions.
struct upstream_offer {
  std::vector<protocol::tool_definition> tools;
  std::vector<protocol::resource_definition> resources;
  std::vector<protocol::resource_template_definition> templates;
  std::vector<protocol::prompt_definition> prompts;
  /// Why some entries were left out or changed.
  std::vector<std::string> notes;
};

/// What the admin view shows of one process.
struct upstream_process_info {
  size_t index = 0;
  /// "pool" (shared mode), "lister" (per-session mode: lists what the
  /// upstream offers, takes no calls) or "session".
  std::string role;
  /// The client session a per-session process serves.
  std::string session;
  bool ready = false;
  int64_t pid = 0;
  std::chrono::steady_clock::time_point started;
  uint32_t restarts = 0;
  size_t in_flight = 0;
  std::string last_exit;
  std::vector<std::string> stderr_tail;
};

class upstream : public std::enable_shared_from_this<upstream> {
public:
  upstream(runtime& rt, upstream_config cfg, link_factory make_link);

  const upstream_config& config() const noexcept {
    return cfg_;
  }

  const std::string& name() const noexcept {
    return cfg_.name;
  }

  /// The child of the root that runs this upstream.
  supervision::child_spec child_spec();

  // -- the handlers its catalog entries run (on the caller's thread) ----------

  protocol::tool_result call_tool(protocol::call_context& ctx, std::string_view name,
                                  bool replayable);
  protocol::read_result read_resource(protocol::call_context& ctx);
  protocol::prompt_result get_prompt(protocol::call_context& ctx, std::string_view name);

  // -- from its process actors ---------------------------------------------------

  /// Process `index` started (again) as actor `self`; the delay before it
  /// spawns its link.
  std::chrono::milliseconds started(size_t index, caf::actor self);

  /// Process `index` is initialized and takes calls through `carrier`.
  void ready(size_t index, caf::actor process, std::shared_ptr<upstream_carrier> carrier,
             link_info info);

  /// What the upstream lists (from the first process that is ready, and
  /// again after a list_changed).
  void offer(upstream_offer offer);

  /// Process `index` (actor `who`) stops: no call is sent to it from now.
  void retire(size_t index, const caf::actor_addr& who);

  /// Every tick of process `index`: in per-session mode it stops if its
  /// session has not used it for the idle timeout; calls whose question
  /// to a 2026-07-28 client was not answered within the call timeout are
  /// cancelled (such a client may never come back).
  void tick(size_t index);

  /// A client session ended: its per-session process stops.
  void session_ended(std::string_view session);

  /// Process `index` stopped; `orphans` were in flight on it, `culprit`
  /// (maybe null) is the call sent last before it died on its own, which
  /// is not run again.
  void gone(size_t index, std::vector<upstream_call_ptr> orphans,
            const upstream_call* culprit, std::string why);

  /// A call answered (or failed) on a process; frees its slot.
  void finished(const upstream_call_ptr& call, std::chrono::nanoseconds took,
                bool error);

  /// The upstream asks the client of `call` for input (its request id,
  /// encoded, and the request): the call's round ends as input_required,
  /// and the next round carries the answer back. False if nothing can be
  /// asked (the call is not waiting on a round, or the client lacks the
  /// capability): the caller answers the upstream with an error.
  bool ask(const upstream_call_ptr& call, std::string id_json,
           const protocol::input_request& request);

  /// The upstream says a resource changed.
  void resource_updated(std::string_view uri);

  /// A client subscribed to `uri` or dropped it: passed on to the upstream
  /// if it owns the URI (the first subscription, the last one dropped).
  void subscription(std::string_view uri, bool on);

  /// Whether `uri` is one of its resources (or it serves every URI no one
  /// else claims, having no prefix).
  bool owns(std::string_view uri) const;

  /// The upstream's supervisor gave up (or the node stops).
  void stopped(std::string why);

  /// The round `call` answers now (a new one after each input round).
  protocol::deferred_round round_of(const upstream_call_ptr& call) const;

  /// Ends a call with a failure, once (see deferred_round::fail).
  void fail(const upstream_call_ptr& call, std::string_view text,
            std::string_view data_json = {}, int http_status = 0);

  /// For admin: the processes and the upstream's own state.
  std::vector<upstream_process_info> processes() const;
  std::string state_text() const;

  /// Writes the families of every upstream's metrics (calls, errors,
  /// restarts, calls in flight, latency), each family's samples together.
  static void render_metrics(prometheus_text& p,
                             const std::vector<std::shared_ptr<upstream>>& all);

  /// Calls in flight (the andon cord counts them).
  size_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }

  /// Kills one process (chaos); false if there is none at `index`.
  bool kill_process(size_t index, const std::string& why);

  /// Places for processes (the pool, or the lister and the sessions'
  /// processes), and those whose process runs now.
  size_t process_count() const noexcept {
    return slots_.size();
  }
  std::vector<size_t> live_processes() const;

private:
  /// Hands `call` to the least busy ready process, or queues it, or
  /// refuses it (down, saturated). Called with `mtx_` held.
  void dispatch_locked(const upstream_call_ptr& call);
  void dispatch(const upstream_call_ptr& call);
  void cancel(const std::weak_ptr<upstream_call>& weak);
  void drain_queue_locked();
  /// Starts `call` (or the next round of the call a client's answer is
  /// for); `encode(key)` gives its request.
  template <class Result, class Encode>
  Result forward(protocol::call_context& ctx, upstream_call_ptr call, const Encode& encode);
  void install(const upstream_offer& offer, bool listed);
  /// The handler of its resources, templates and fallback reads.
  protocol::read_handler reader();
  void install_fallback();
  /// The spec of the child that drives process `index`.
  supervision::child_spec process_spec(size_t index, std::string id,
                                       supervision::restart_type restart);
  /// Per-session mode: the slot of `call`'s session, given one (and its
  /// process started) if it has none; a refusal text if it cannot be.
  std::optional<std::string> place_locked(const upstream_call& call);
  /// Per-session mode: stops the process of slot `index`; the slot is free
  /// again once the process is gone.
  void release_locked(size_t index, std::string_view why);
  /// A slot `call` may go to now, or null.
  struct process_slot;
  process_slot* target_locked(const upstream_call& call);
  /// Sends `call` on the process of `s`.
  void hand_locked(process_slot& s, const upstream_call_ptr& call);

  runtime& rt_;
  upstream_config cfg_;
  link_factory make_link_;

  mutable std::mutex mtx_;
  /// The upstream's supervisor (per-session processes are started under
  /// it as they are needed).
  caf::actor sup_;
  uint64_t next_child_ = 0;
  struct process_slot {
    caf::actor actor;
    std::shared_ptr<upstream_carrier> carrier;
    bool ready = false;
    /// Ready when it was retired (for the log line of gone()).
    bool was_ready = false;
    size_t in_flight = 0;
    uint32_t starts = 0;
    std::chrono::steady_clock::time_point started;
    std::vector<std::chrono::steady_clock::time_point> recent_starts;
    std::string last_exit;
    link_info info;
    /// Per-session mode: the client session it serves (empty: free, or
    /// the lister in slot 0), its child's id under the supervisor, and
    /// when its session last called.
    std::string owner;
    std::string child_id;
    std::chrono::steady_clock::time_point last_used;
    /// Its process is stopping; the slot is free once it is gone.
    bool releasing = false;
  };
  std::vector<process_slot> slots_;
  std::deque<upstream_call_ptr> queue_;
  std::unordered_map<uint64_t, std::weak_ptr<upstream_call>> calls_;
  uint64_t next_key_ = 1;
  bool down_ = false;
  std::string down_reason_;
  std::chrono::steady_clock::time_point retry_at_;
  /// What it offers now, kept to leave the lists when it goes down.
  std::optional<upstream_offer> offered_;
  /// Compiled templates of `offered_`, for owns().
  std::vector<protocol::uri_template> offered_templates_;
  /// Resource subscriptions of clients, by URI.
  std::map<std::string, int, std::less<>> subscribed_;
  std::atomic<size_t> in_flight_{0};

  // metrics
  std::atomic<uint64_t> calls_total_{0};
  std::atomic<uint64_t> errors_total_{0};
  std::atomic<uint64_t> restarts_total_{0};
  std::array<std::atomic<uint64_t>, metrics::bounds.size() + 1> latency_{};
  std::atomic<uint64_t> latency_sum_ns_{0};
};

using upstream_ptr = std::shared_ptr<upstream>;

} // namespace mcpvisor::actors
