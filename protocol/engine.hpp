#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protocol/call_context.hpp"
#include "protocol/catalog.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/revision.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/seal.hpp"
#include "protocol/tasks.hpp"

/// The sans-I/O MCP engine. It is fed decoded messages and tells its caller
/// what to send, which handlers to run, and when a session ends. It never
/// touches a socket, a thread or an actor: the runtime (actors/) does that,
/// and unit tests drive it with strings alone.
namespace mcpvisor::protocol {

/// Settings of the engine; defaults are documented in
/// docs/configuration.md.
struct engine_config {
  decode_limits limits;
  /// Items per page of list results.
  size_t page_size = 100;
  /// resources/subscribe limit per session.
  size_t max_subscriptions = 100;
  /// Deadline of a server-to-client request (2025-11-25 sessions).
  std::chrono::milliseconds input_timeout{std::chrono::minutes{5}};
  /// Lifetime of an MRTR requestState (2026-07-28).
  std::chrono::milliseconds request_state_ttl{std::chrono::minutes{10}};
  /// Rounds of input a call may need before it is refused.
  unsigned max_input_rounds = 16;
  /// Level of notifications/message in a session before logging/setLevel.
  log_level session_log_level = log_level::info;
  /// Completion values returned at most.
  size_t max_completions = 100;
  /// Largest encoded result of a tool, resource or prompt handler; a larger
  /// one is answered with an error that says so.
  size_t max_result_bytes = 32 * 1024 * 1024;
};

/// What every session and request of one server shares.
class server_context {
public:
  server_context(catalog& cat, engine_config cfg = {},
                 std::array<uint8_t, 32> secret = random_secret());

  catalog& cat() const noexcept {
    return cat_;
  }

  const engine_config& config() const noexcept {
    return cfg_;
  }

  const sealer& seal() const noexcept {
    return sealer_;
  }

  /// Encoded ServerCapabilities.
  std::string capabilities_json(bool stateless) const;

  /// Encoded Implementation of the server.
  const std::string& server_info_json() const noexcept {
    return server_info_;
  }

  /// Encoded `_meta` of every 2026-07-28 result (the server's identity).
  const std::string& result_meta_json() const noexcept {
    return result_meta_;
  }

private:
  catalog& cat_;
  engine_config cfg_;
  sealer sealer_;
  std::string server_info_;
  std::string result_meta_;
};

/// A message for the client, and what it is: transports count results and
/// errors and choose headers from `kind`, never from the JSON.
struct outgoing {
  std::string json;
  message_kind kind = message_kind::result;
  /// The client request this message belongs to: its response stream.
  /// Empty for messages on a session's own stream (list changes, updates).
  request_id stream;
  /// The response that completes `stream`.
  bool final = false;
  /// HTTP status a stateless error must be sent with (400, 404); 0 means
  /// the usual 200.
  int http_status = 0;
};

/// One handler invocation (tools/call, resources/read, prompts/get) that the
/// runtime runs on a worker or inline, once per round, and hands back to
/// the engine with `finish`.
class pending_call {
public:
  enum class kind : uint8_t { tool, resource, prompt };

  kind what() const noexcept {
    return kind_;
  }

  const request_id& id() const noexcept {
    return id_;
  }

  execution where() const noexcept {
    return exec_;
  }

  std::chrono::steady_clock::time_point deadline() const noexcept {
    return ctx_->deadline();
  }

  /// True for read-only or idempotent calls that may run again if the
  /// session crashed while they were in flight.
  bool replayable() const noexcept {
    return replayable_;
  }

  bool stateless() const noexcept {
    return stateless_;
  }

  call_context& context() noexcept {
    return *ctx_;
  }

  /// Runs the handler once. `tool_error` becomes an error result; any other
  /// exception propagates to the caller (the runtime turns it into a crash
  /// of the session actor).
  void run();

  /// Name of the tool or prompt, or the URI.
  const std::string& target() const noexcept {
    return target_;
  }

  /// The last round's handler returned `answer_later()`: the round ends
  /// when its `deferred_round` is done, not now.
  bool deferred() const noexcept {
    return deferred_.load(std::memory_order_acquire);
  }

  /// A 2026-07-28 tools/call answered with a task (tasks extension): the
  /// runtime creates the task, answers with it, and hands each finished
  /// round to `finish_task_round` instead of answering the request.
  bool as_task() const noexcept {
    return as_task_;
  }

  /// A tools/call with an idempotency key (protocol/idempotency.hpp): its
  /// scope and key, or empty; and the digest of what it calls (tool and
  /// arguments), which a retry with the same key must match.
  const std::string& idempotency_key() const noexcept {
    return idem_key_;
  }
  const std::string& idempotency_digest() const noexcept {
    return idem_digest_;
  }

  /// The last round's handler threw something other than tool_error or
  /// request_failure.
  bool crashed() const noexcept {
    return crashed_;
  }

  /// Called on the thread that ends each round (after `run`, also when the
  /// handler crashed, or when a deferred round ends), before the runtime
  /// hears of it.
  void on_round_end(std::function<void(pending_call&)> f) {
    round_end_ = std::move(f);
  }

private:
  friend class engine_access;
  friend class deferred_round;

  void set_outcome(tool_result r);
  void set_outcome(read_result r);
  void set_outcome(prompt_result r);

  kind kind_ = kind::tool;
  request_id id_;
  std::string target_;
  execution exec_ = execution::worker;
  bool replayable_ = false;
  bool stateless_ = false;
  unsigned rounds_ = 0;
  std::string digest_;
  std::shared_ptr<const catalog_snapshot> snap_;
  const catalog_snapshot::tool_entry* tool_ = nullptr;
  read_handler read_;
  const catalog_snapshot::prompt_entry* prompt_ = nullptr;
  cache_hint cache_;
  std::unique_ptr<call_context> ctx_;
  std::optional<tool_result> tool_out_;
  std::optional<read_result> read_out_;
  std::optional<prompt_result> prompt_out_;
  std::string error_text_;
  std::string error_data_;
  int error_status_ = 0;
  bool cancelled_ = false;
  bool done_ = false;
  /// Set by defer() on the handler's thread, cleared when the round ends
  /// on whichever thread ends it.
  std::atomic<bool> deferred_{false};
  bool defer_called_ = false;
  bool as_task_ = false;
  bool crashed_ = false;
  std::string idem_key_;
  std::string idem_digest_;
  std::function<void(pending_call&)> round_end_;
};

/// What the engine asks its caller to do after a message.
struct engine_output {
  std::vector<outgoing> messages;
  /// Handler runs to start (run(), then finish()).
  std::vector<std::shared_ptr<pending_call>> calls;
  /// A 2026-07-28 subscriptions/listen stream to register.
  struct listen {
    request_id id;
    bool tools = false;
    bool prompts = false;
    bool resources = false;
    std::vector<std::string> uris;
    /// Tasks whose status changes are sent (notifications/tasks), and
    /// whose they must be (the token's subject, or empty).
    std::vector<std::string> task_ids;
    std::string owner;
  };
  std::optional<listen> subscribe;
  /// Requests the client cancelled (notifications/cancelled on a stateless
  /// channel such as stdio): the runtime cancels their calls.
  std::vector<request_id> cancels;
  /// A tasks/get, tasks/update or tasks/cancel that passed the checks:
  /// the runtime serves it with `serve_task_request` under its table's
  /// lock.
  struct task_request {
    request_id id;
    std::string method;
    std::string task_id;
    /// The token's subject, or empty: tasks are found only by their owner.
    std::string owner;
    /// tasks/update: (key, encoded answer).
    std::vector<std::pair<std::string, std::string>> answers;
  };
  std::optional<task_request> task;

  void clear() {
    messages.clear();
    calls.clear();
    subscribe.reset();
    cancels.clear();
    task.reset();
  }
};

/// The state of one 2025-11-25-family session (also 2025-06-18, 2025-03-26
/// and 2024-11-05): lifecycle, negotiated revision, client capabilities, log
/// level, resource subscriptions, calls in flight and server-to-client
/// requests awaiting answers.
class session {
public:
  explicit session(const server_context& srv);
  ~session();

  /// Handles one message from the client.
  void receive(message& msg, engine_output& out);

  /// A handler round of `call` finished (after `call.run()`).
  void finish(pending_call& call, engine_output& out);

  /// Cancels a call (deadline passed, stream closed, or the session ends):
  /// its handler is told, and unless `silent` the client gets an error.
  void cancel(const request_id& id, std::string_view reason, bool silent,
              engine_output& out);

  /// Expires server-to-client requests past their deadline.
  void tick(std::chrono::steady_clock::time_point now, engine_output& out);

  /// A catalog change: notifications for this session's own stream.
  void notify_change(catalog_change what, std::string_view uri,
                     engine_output& out);

  // -- properties -------------------------------------------------------------

  bool initialized() const noexcept {
    return initialized_;
  }

  revision rev() const noexcept {
    return rev_;
  }

  const std::string& client_name() const noexcept {
    return client_name_;
  }

  /// The subject and scopes (space-separated) of the token that
  /// initialized the session; empty without authorization.
  const std::string& subject() const noexcept {
    return subject_;
  }

  const std::string& scopes() const noexcept {
    return scopes_;
  }

  /// The key its calls carry (call_context::session): the runtime's id of
  /// the session.
  void set_key(std::string key) {
    key_ = std::move(key);
  }

  log_level level() const noexcept {
    return level_;
  }

  size_t calls_in_flight() const noexcept {
    return calls_.size();
  }

  bool in_flight(const request_id& id) const {
    return calls_.count(id) > 0;
  }

  /// Ids of the calls in flight.
  std::vector<request_id> call_ids() const;

  bool subscribed(std::string_view uri) const;

  bool subscribed_any() const noexcept {
    return !subscriptions_.empty();
  }

  /// Changes whenever something `checkpoint` records changes.
  uint64_t state_version() const noexcept {
    return version_;
  }

  /// The earliest deadline of anything pending, if any.
  std::optional<std::chrono::steady_clock::time_point> next_deadline() const;

  // -- checkpoints ------------------------------------------------------------

  /// Encoded state that survives a crash of the actor: revision, client
  /// capabilities and info, log level, subscriptions, next request id, and
  /// the token's subject and scopes.
  /// Meant for initialized sessions; a restored session is initialized.
  std::string checkpoint() const;

  /// Restores a checkpoint; false if it is not one.
  bool restore(std::string_view checkpoint);

private:
  struct server_request {
    request_id call;
    std::string key;
    std::chrono::steady_clock::time_point deadline;
  };

  void request(message& msg, engine_output& out);
  void answer(message& msg, engine_output& out);
  void send_asks(pending_call& call, engine_output& out);

  const server_context& srv_;
  bool initialized_ = false;
  bool ready_ = false;
  revision rev_ = latest_session_revision;
  /// The client's capabilities, in a pool of small chunks: a Document's own
  /// pool starts with 64 KiB, which 100K sessions cannot afford.
  json_allocator caps_pool_{256};
  json_value caps_{rapidjson::kObjectType};
  std::string client_name_;
  std::string key_;
  std::string client_info_;
  std::string subject_;
  std::string scopes_;
  log_level level_;
  std::unordered_set<std::string> subscriptions_;
  std::unordered_map<request_id, std::shared_ptr<pending_call>,
                     request_id_hash>
    calls_;
  std::unordered_map<request_id, server_request, request_id_hash> asks_;
  int64_t next_request_id_ = 1;
  uint64_t version_ = 0;
};

/// Serves one stateless 2026-07-28 request (no session). `headers` are the
/// HTTP request's MCP headers (nullptr on stdio).
struct mcp_headers {
  std::string_view protocol_version;
  bool has_method = false;
  std::string_view method;
  bool has_name = false;
  std::string_view name;
  /// Mcp-Param-* headers: {name part as sent, value}.
  std::vector<std::pair<std::string_view, std::string_view>> params;
};

void serve_stateless(const server_context& srv, message& msg,
                     const mcp_headers* headers, engine_output& out);

/// A handler round of a stateless call finished.
void finish_stateless(const server_context& srv, pending_call& call,
                      engine_output& out);

/// Checks the HTTP headers of a stateless request against its body: the
/// error to answer with (-32020, HTTP 400), or nullopt if they agree.
std::optional<outgoing> check_headers(const server_context& srv,
                                      const message& msg,
                                      const mcp_headers& headers);

// -- the tasks extension ----------------------------------------------------------

/// Serves a task request against `table` (the caller holds its lock).
/// Returns the task's call when tasks/update answered all its input: the
/// caller runs its next round.
std::shared_ptr<pending_call> serve_task_request(const server_context& srv,
                                                 task_table& table,
                                                 const engine_output::task_request& req,
                                                 int64_t now_ms,
                                                 engine_output& out);

/// Records the outcome of a finished round of task `t` (the caller holds
/// the table's lock): completed, failed, or waiting for input. A round of
/// a task that ended meanwhile (cancelled, expired) is dropped.
void finish_task_round(const server_context& srv, task& t, pending_call& call,
                       int64_t now_ms);

/// The call of task `t` built again from its request, to run it from the
/// start after a crash of the actor that ran it; the answers the client
/// gave are given to it again. Null if the request no longer makes a call
/// (the tool is gone): the task has then failed.
std::shared_ptr<pending_call> rebuild_task_call(const server_context& srv,
                                                task& t, int64_t now_ms);

/// The JSON-RPC response a finished round of `call` makes (its result or
/// error, as the engine would send it), or nullopt if the round asked for
/// input or has not ended. Safe on the thread that ran the round.
std::optional<std::string> round_answer(const server_context& srv,
                                        pending_call& call);

/// Encodes a notification for a subscriptions/listen stream.
std::string listen_notification(const request_id& subscription,
                                std::string_view method,
                                std::string_view uri = {});

/// The graceful end of a subscriptions/listen stream (server shutdown).
std::string listen_closed(const request_id& subscription);

/// A JSON-RPC error answer to a message that could not be decoded.
outgoing decode_failure(const decode_error& err);

} // namespace mcpvisor::protocol
