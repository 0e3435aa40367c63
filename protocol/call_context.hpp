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
#include <vector>

#include "protocol/auth.hpp"
#include "protocol/content.hpp"
#include "protocol/json.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/revision.hpp"
#include "protocol/uri_template.hpp"

namespace mcpvisor::protocol {

/// Log levels of notifications/message, in order of severity; `off` sends
/// nothing.
enum class log_level : uint8_t {
  debug,
  info,
  notice,
  warning,
  error,
  critical,
  alert,
  emergency,
  off,
};

std::string_view to_string(log_level lvl) noexcept;
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

/// Thrown by a handler to report a failure the model should see: a tool
/// answers with `isError: true` and the text; a resource or prompt handler
/// answers with a JSON-RPC error carrying the text. Any other exception is
/// a crash of the session's actor (supervised, see actors/).
struct tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Thrown by a handler whose request cannot be served at all: answered
/// with a JSON-RPC internal error (-32603) carrying the text, also by a
/// tool (a task then ends `failed`, not `completed`). Unlike other
/// exceptions it does not crash the actor.
struct request_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The elicitationId of the URL-mode elicitation a call asks as `key`.
std::string elicitation_id(const request_id& call, std::string_view key);

/// True if the capabilities object `caps` declares `capability`: a top-level
/// key ("sampling") or a dotted path ("elicitation.url").
bool has_capability(const json_value& caps, std::string_view capability);

/// Something a handler needs from the client: an elicitation, a sampling
/// request or the list of roots. The same request works in both eras: sent
/// as a server-to-client request in a 2025-11-25 session, returned in
/// `inputRequests` of an input_required result in 2026-07-28.
class input_request {
public:
  /// Form-mode elicitation; `requested_schema_json` is the flat object
  /// schema of the form.
  static input_request elicit_form(std::string_view message,
                                   std::string_view requested_schema_json);
  /// URL-mode elicitation: the user is sent to `url`.
  static input_request elicit_url(std::string_view message,
                                  std::string_view url);
  /// Sampling with full CreateMessageRequest params (encoded JSON).
  static input_request sample(std::string_view params_json);
  /// Sampling of one user text message.
  static input_request sample_text(std::string_view prompt, int max_tokens);
  static input_request list_roots();
  /// A server-to-client request another server sent (an upstream's
  /// elicitation/create, sampling/createMessage or roots/list), passed on
  /// as it is; nullopt for any other method.
  static std::optional<input_request> forward(std::string_view method,
                                              std::string_view params_json);

  std::string_view method() const noexcept {
    return method_;
  }

  /// Encoded params object.
  const std::string& params_json() const noexcept {
    return params_;
  }

  /// The client capability the request needs: "elicitation", "sampling"
  /// or "roots".
  std::string_view capability() const noexcept;

  bool is_url_elicitation() const noexcept {
    return url_mode_;
  }

private:
  input_request(std::string method, std::string params, bool url_mode = false)
    : method_(std::move(method)), params_(std::move(params)),
      url_mode_(url_mode) {
    // nop
  }

  std::string method_;
  std::string params_;
  bool url_mode_ = false;
};

/// The client's answer to an input_request: a result, or (2025-11-25 only)
/// the error the client answered with.
struct input_answer {
  const json_value* result = nullptr;
  const json_value* error = nullptr;

  bool ok() const noexcept {
    return result != nullptr;
  }
};

class pending_call;
class call_context;

/// The runtime's side of a running handler: where notifications go, whether
/// the call was cancelled, and how to wait. Implemented by actors/; a test
/// can implement it with a vector.
class call_io {
public:
  virtual ~call_io() = default;

  /// Sends an encoded notification on the stream of this call's request.
  /// Called from the handler's thread.
  virtual void send(std::string notification_json) = 0;

  virtual bool cancelled() const noexcept = 0;

  /// Waits `d` unless cancelled first; returns false if cancelled.
  virtual bool wait(std::chrono::milliseconds d) = 0;

  /// Ends the request's SSE stream now, keeping the call running: the
  /// client resumes with GET and Last-Event-ID and gets the rest from the
  /// replay buffer (2025-11-25 polling). No effect where it does not apply.
  virtual void close_stream() {
    // nop
  }

  /// A deferred round ended (`deferred_round::done`): the call goes back
  /// to the engine, as when a worker finishes a round.
  virtual void resume(std::shared_ptr<pending_call> call) {
    (void) call;
  }

  /// Runs `f` once when the call is cancelled (at once if it already is);
  /// on the cancelling thread.
  virtual void on_cancel(std::function<void()> f) {
    (void) f;
  }
};

/// The end of a round that a handler finishes later, from any thread: the
/// handler took it with `call_context::defer()` and returned
/// `answer_later()`. The first `done` or `fail` counts; later ones, and any
/// after the call was cancelled or timed out, do nothing.
class deferred_round {
public:
  struct state;

  deferred_round() = default;
  explicit deferred_round(std::shared_ptr<state> s) : st_(std::move(s)) {
    // nop
  }

  void done(tool_result r);
  void done(read_result r);
  void done(prompt_result r);

  /// The round failed: the client gets an internal error saying `text`,
  /// with `data_json` (an encoded object) as its data if given. An HTTP
  /// status (503: retry later, with Retry-After) applies when the answer
  /// goes out as a JSON body rather than on an event stream.
  void fail(std::string_view text, std::string_view data_json = {}, int http_status = 0);

  /// True until the round ended or the call was cancelled.
  bool pending() const noexcept;

  /// Runs `f` once if the call is cancelled (the client cancelled, the
  /// deadline passed, the session ended).
  void on_cancel(std::function<void()> f);

  /// The call's context, for `ask`, `set_state`, progress and logs while
  /// the round is open. Only the thread that ends the round may use it.
  call_context& context();

private:
  std::shared_ptr<state> st_;
};

/// Everything a handler sees and can do. One context serves every round of
/// a call: a handler that asks for input runs again, from the start, once
/// the answers are in, and finds them via `ask`.
class call_context {
public:
  /// `arguments` (an object, or null for none) is copied into the
  /// context's own arena.
  call_context(revision rev, std::string name, const json_value* arguments);
  ~call_context();

  call_context(const call_context&) = delete;
  call_context& operator=(const call_context&) = delete;

  // -- what was asked ---------------------------------------------------------

  /// The tool's or prompt's name (empty for resources).
  const std::string& name() const noexcept {
    return name_;
  }

  /// Arguments of tools/call or prompts/get (an object, maybe empty).
  const json_value& arguments() const noexcept {
    return args_;
  }

  /// A string argument, or `fallback`.
  std::string_view arg_string(std::string_view key,
                              std::string_view fallback = {}) const;

  /// The URI of resources/read, and the template variables it matched.
  const std::string& uri() const noexcept {
    return uri_;
  }

  const uri_template::variables& uri_variables() const noexcept {
    return uri_vars_;
  }

  revision protocol_revision() const noexcept {
    return rev_;
  }

  /// The key of the 2025-11-25 session the call belongs to (the runtime's
  /// session id); empty for a stateless 2026-07-28 request.
  const std::string& session() const noexcept {
    return session_;
  }

  /// The subject (`sub`) of the access token the request came with; empty
  /// when the endpoint does not check tokens.
  const std::string& subject() const;

  /// The token's scopes (none without a token).
  const std::vector<std::string>& scopes() const;

  bool has_scope(std::string_view scope) const;

  /// True if the client declared `capability` ("sampling", "elicitation",
  /// "roots", or a dotted sub-capability such as "elicitation.url").
  bool client_supports(std::string_view capability) const;

  /// The client's declared capabilities (an object).
  const json_value& client_capabilities() const noexcept {
    return caps_;
  }

  /// Encoded arguments with members sorted (for digests).
  std::string canonical_arguments() const;

  // -- telling the client -----------------------------------------------------

  /// notifications/progress for this request, if the client asked for
  /// progress. Values that do not increase are dropped, as the spec
  /// requires; nothing is sent once the call has ended.
  void progress(double done, std::optional<double> total = {},
                std::string_view message = {});

  /// notifications/message at `lvl` if the session's or request's level
  /// lets it through.
  void log(log_level lvl, std::string_view text,
           std::string_view logger = {});

  /// Closes the SSE stream of this request early; the client polls for the
  /// rest (see call_io::close_stream).
  void close_stream() {
    if (io_ != nullptr)
      io_->close_stream();
  }

  /// True if a message at `lvl` would be sent.
  bool logs(log_level lvl) const noexcept {
    return lvl >= level_;
  }

  // -- time -------------------------------------------------------------------

  bool cancelled() const noexcept;

  std::chrono::steady_clock::time_point deadline() const noexcept {
    return deadline_;
  }

  /// Sleeps unless cancelled or past the deadline; false if it was cut short.
  bool sleep_for(std::chrono::milliseconds d);

  // -- asking the client ------------------------------------------------------

  /// The client's answer to the input request named `key`, if it is in.
  /// Otherwise records the request (to be sent or returned) and returns
  /// nullopt; the handler then returns `input_required()`.
  std::optional<input_answer> ask(std::string_view key,
                                  const input_request& request);

  input_required_t input_required() const noexcept {
    return {};
  }

  /// Tells the client that the out-of-band interaction of the URL-mode
  /// elicitation asked as `key` has completed
  /// (notifications/elicitation/complete, 2025-11-25 sessions; nothing in
  /// 2026-07-28, which has no such notification).
  void elicitation_complete(std::string_view key);

  /// The elicitationId the URL-mode elicitation asked as `key` carries (to
  /// put in the URL, so that the out-of-band step can be matched to it).
  std::string elicitation_id(std::string_view key) const;

  // -- answering later ----------------------------------------------------------

  /// Lets the handler return before its work is done: it keeps the handle,
  /// returns `answer_later()`, and ends the round with `done` from any
  /// thread. Meant for `execution::inline_call` handlers that start
  /// asynchronous work (a request to another server) and must not hold a
  /// thread while they wait. Deadline, cancellation, progress, logs and
  /// `ask` work as in any round.
  deferred_round defer();

  answer_later_t answer_later() const noexcept {
    return {};
  }

  // -- state across rounds ----------------------------------------------------

  /// What `set_state` stored in an earlier round, or null.
  const json_value* state() const noexcept;

  /// Keeps `json` (encoded) for the next round. In 2026-07-28 it travels in
  /// the integrity-protected requestState.
  void set_state(std::string_view json);

  // -- engine side ------------------------------------------------------------

  /// Wiring done by the runtime before a round. `keep` holds `io` alive
  /// for a round that ends later.
  void set_io(call_io* io, std::shared_ptr<call_io> keep = nullptr) noexcept {
    io_ = io;
    io_keep_ = std::move(keep);
  }

  /// The call this context belongs to (set by the engine).
  void set_call(std::weak_ptr<pending_call> call) noexcept {
    call_ = std::move(call);
  }
  void set_client_capabilities(const json_value& caps);
  void set_progress_token(std::optional<request_id> token);
  bool has_progress_token() const noexcept {
    return progress_token_.has_value();
  }
  void set_log_level(log_level lvl) noexcept {
    level_ = lvl;
  }
  void set_deadline(std::chrono::steady_clock::time_point t) noexcept {
    deadline_ = t;
  }
  void set_uri(std::string uri, uri_template::variables vars);
  void set_session(std::string key) {
    session_ = std::move(key);
  }

  void set_principal(principal_ptr who) {
    who_ = std::move(who);
  }

  /// Adds an answer for `key` (a result object, or an error object).
  void add_answer(std::string_view key, const json_value& value, bool error);

  /// Requests recorded by `ask` in the last round that have no answer yet.
  struct pending_ask {
    std::string key;
    input_request request;
  };
  const std::vector<pending_ask>& pending() const noexcept {
    return pending_;
  }

  /// Capabilities that asks needed but the client did not declare.
  const std::vector<std::string>& missing_capabilities() const noexcept {
    return missing_caps_;
  }

  /// Clears the per-round records before running the handler again.
  void begin_round();

  /// Answers the handler used in the last round (key → result), for the
  /// requestState of the next one.
  std::string used_answers_json() const;

  /// Encoded state, or empty.
  const std::string& state_json() const noexcept {
    return state_text_;
  }

  /// After this, progress and log notifications are dropped and the
  /// handler sees itself cancelled.
  void finish() noexcept {
    finished_.store(true, std::memory_order_release);
  }

private:
  void send(std::string json);

  revision rev_;
  std::string name_;
  /// Arguments, capabilities and answers live in one arena, whose first
  /// chunk is part of the context (a typical call allocates nothing more)
  /// and whose later chunks are small, not RapidJSON's default 64 KiB.
  alignas(8) char first_chunk_[1024];
  rapidjson::MemoryPoolAllocator<> arena_{first_chunk_, sizeof(first_chunk_), 1024,
                                          &heap_allocator()};
  json_value args_;
  std::string uri_;
  std::string session_;
  principal_ptr who_;
  uri_template::variables uri_vars_;
  json_value caps_;
  std::optional<request_id> progress_token_;
  double last_progress_ = -1e300;
  log_level level_ = log_level::off;
  std::chrono::steady_clock::time_point deadline_;
  call_io* io_ = nullptr;
  std::shared_ptr<call_io> io_keep_;
  std::weak_ptr<pending_call> call_;
  std::atomic<bool> finished_{false};
  /// Answers by key: result or error objects.
  json_value answers_;
  std::vector<std::string> error_keys_;
  std::vector<std::string> used_keys_;
  std::vector<pending_ask> pending_;
  std::vector<std::string> missing_caps_;
  json_document state_doc_;
  std::string state_text_;
};

} // namespace mcpvisor::protocol
