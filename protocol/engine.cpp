#include "protocol/engine.hpp"

#include "protocol/ascii.hpp"
#include "protocol/auth.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace mcpvisor::protocol {

// -- access to pending_call internals for the engine ---------------------------

class engine_access {
public:
  static pending_call& make(std::shared_ptr<pending_call>& p) {
    p = std::make_shared<pending_call>();
    return *p;
  }
  static pending_call::kind& kind(pending_call& c) { return c.kind_; }
  static request_id& id(pending_call& c) { return c.id_; }
  static std::string& target(pending_call& c) { return c.target_; }
  static execution& exec(pending_call& c) { return c.exec_; }
  static bool& replayable(pending_call& c) { return c.replayable_; }
  static bool& stateless(pending_call& c) { return c.stateless_; }
  static unsigned& rounds(pending_call& c) { return c.rounds_; }
  static std::string& digest(pending_call& c) { return c.digest_; }
  static auto& snap(pending_call& c) { return c.snap_; }
  static auto& tool(pending_call& c) { return c.tool_; }
  static auto& read(pending_call& c) { return c.read_; }
  static auto& prompt(pending_call& c) { return c.prompt_; }
  static cache_hint& cache(pending_call& c) { return c.cache_; }
  static auto& ctx(pending_call& c) { return c.ctx_; }
  static auto& tool_out(pending_call& c) { return c.tool_out_; }
  static auto& read_out(pending_call& c) { return c.read_out_; }
  static auto& prompt_out(pending_call& c) { return c.prompt_out_; }
  static std::string& error_text(pending_call& c) { return c.error_text_; }
  static std::string& error_data(pending_call& c) { return c.error_data_; }
  static int& error_status(pending_call& c) { return c.error_status_; }
  static bool& cancelled(pending_call& c) { return c.cancelled_; }
  static bool& done(pending_call& c) { return c.done_; }
  static auto& deferred(pending_call& c) { return c.deferred_; }
  static bool& defer_called(pending_call& c) { return c.defer_called_; }
  static bool& as_task(pending_call& c) { return c.as_task_; }
  static std::string& idem_key(pending_call& c) { return c.idem_key_; }
  static std::string& idem_digest(pending_call& c) { return c.idem_digest_; }
  static auto& round_end(pending_call& c) { return c.round_end_; }
};

using A = engine_access;

void pending_call::run() {
  tool_out_.reset();
  read_out_.reset();
  prompt_out_.reset();
  error_text_.clear();
  error_data_.clear();
  error_status_ = 0;
  crashed_ = false;
  deferred_.store(false, std::memory_order_relaxed);
  defer_called_ = false;
  ctx_->begin_round();
  // a deferred round's outcome is set when it ends (possibly before the
  // handler even returns); one that never called defer() is an error
  auto later = [this](const auto& r) {
    if (!r.deferred)
      return false;
    if (!defer_called_)
      error_text_ = "the handler returned answer_later() without defer()";
    return true;
  };
  try {
    switch (kind_) {
      case kind::tool: {
        auto r = tool_->def.handler(*ctx_);
        if (!later(r))
          set_outcome(std::move(r));
        break;
      }
      case kind::resource: {
        auto r = read_(*ctx_);
        if (!later(r))
          set_outcome(std::move(r));
        break;
      }
      case kind::prompt: {
        auto r = prompt_->def.handler(*ctx_);
        if (!later(r))
          set_outcome(std::move(r));
        break;
      }
    }
  } catch (const tool_error& e) {
    if (kind_ == kind::tool)
      tool_out_ = tool_result::error(e.what());
    else
      error_text_ = e.what();
  } catch (const request_failure& e) {
    error_text_ = e.what();
  } catch (...) {
    // the handler crashed: no answer comes of this round
    crashed_ = true;
    if (round_end_)
      round_end_(*this);
    throw;
  }
  if (round_end_ && !deferred_.load(std::memory_order_acquire))
    round_end_(*this);
}

void pending_call::set_outcome(tool_result r) {
  if (!r.needs_input && !r.is_error && tool_->output) {
    auto doc = r.structured.empty() ? std::nullopt : parse_json(r.structured);
    if (!doc || !tool_->output->accepts(*doc)) {
      error_text_ = "tool '" + tool_->def.name
                    + "' produced output that does not match its output schema";
      return;
    }
  }
  tool_out_ = std::move(r);
}

void pending_call::set_outcome(read_result r) {
  read_out_ = std::move(r);
}

void pending_call::set_outcome(prompt_result r) {
  prompt_out_ = std::move(r);
}

// -- deferred rounds ------------------------------------------------------------

struct deferred_round::state {
  std::shared_ptr<pending_call> call;
  std::shared_ptr<call_io> io;
  std::atomic<bool> open{true};
};

deferred_round call_context::defer() {
  auto st = std::make_shared<deferred_round::state>();
  st->call = call_.lock();
  st->io = io_keep_;
  if (st->call == nullptr || st->io == nullptr)
    throw std::logic_error("defer() needs a call run by the runtime");
  A::defer_called(*st->call) = true;
  A::deferred(*st->call).store(true, std::memory_order_release);
  return deferred_round{std::move(st)};
}

namespace {

/// Ends a deferred round with `set`, once.
template <class F>
void end_round(const std::shared_ptr<deferred_round::state>& st, F set) {
  if (st == nullptr || !st->open.exchange(false))
    return;
  auto& call = *st->call;
  try {
    set(call);
  } catch (const tool_error& e) {
    A::error_text(call) = e.what();
  }
  A::deferred(call).store(false, std::memory_order_release);
  if (A::round_end(call))
    A::round_end(call)(call);
  st->io->resume(st->call);
}

} // namespace

void deferred_round::done(tool_result r) {
  end_round(st_, [&](pending_call& c) { c.set_outcome(std::move(r)); });
}

void deferred_round::done(read_result r) {
  end_round(st_, [&](pending_call& c) { c.set_outcome(std::move(r)); });
}

void deferred_round::done(prompt_result r) {
  end_round(st_, [&](pending_call& c) { c.set_outcome(std::move(r)); });
}

void deferred_round::fail(std::string_view text, std::string_view data_json, int http_status) {
  end_round(st_, [&](pending_call& c) {
    A::error_text(c) = std::string{text};
    A::error_data(c) = std::string{data_json};
    A::error_status(c) = http_status;
  });
}

bool deferred_round::pending() const noexcept {
  return st_ != nullptr && st_->open.load() && !st_->call->context().cancelled();
}

void deferred_round::on_cancel(std::function<void()> f) {
  if (st_ != nullptr)
    st_->io->on_cancel(std::move(f));
}

call_context& deferred_round::context() {
  return st_->call->context();
}

// -- server_context -----------------------------------------------------------

std::string server_context::capabilities_json(bool stateless) const {
  std::string out = R"({"tools":{"listChanged":true},)";
  out += R"("resources":{"subscribe":true,"listChanged":true},)";
  out += R"("prompts":{"listChanged":true},"logging":{},"completions":{})";
  if (stateless) {
    // the tasks extension is defined for 2026-07-28 only
    out += R"(,"extensions":{)";
    append_quoted(out, tasks_extension);
    out += ":{}}";
  }
  out += '}';
  return out;
}

server_context::server_context(catalog& cat, engine_config cfg,
                               std::array<uint8_t, 32> secret)
  : cat_(cat), cfg_(std::move(cfg)), sealer_(secret) {
  const auto& info = cat_.info();
  string_sink sink{server_info_};
  json_writer w{sink};
  w.StartObject();
  auto str = [&](const char* k, const std::string& v) {
    if (v.empty())
      return;
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  str("name", info.name);
  str("version", info.version);
  str("title", info.title);
  str("description", info.description);
  str("websiteUrl", info.website_url);
  w.EndObject();
  result_meta_ = R"({"io.modelcontextprotocol/serverInfo":)" + server_info_
                 + "}";
}

namespace {

using clock_type = std::chrono::steady_clock;

// -- building answers ---------------------------------------------------------

/// How a request is being served: era, client capabilities, log level.
struct scope {
  const server_context& srv;
  revision rev;
  bool stateless;
  const json_value* caps;
  log_level level;
  /// The session's key; empty when stateless.
  std::string_view session;
};

void push_error(engine_output& out, const request_id& id, int code,
                std::string_view text, std::string_view data = {},
                int http_status = 0) {
  outgoing o;
  o.json = encode_error(id, code, text, data);
  o.kind = message_kind::error;
  o.stream = id;
  o.final = true;
  o.http_status = http_status;
  out.messages.push_back(std::move(o));
}

/// Adds what 2026-07-28 results carry: resultType, server identity, and
/// cache hints on cacheable results.
void decorate(const scope& s, std::string& result,
              const cache_hint* cache = nullptr,
              std::string_view result_type = "complete") {
  if (!s.stateless)
    return;
  std::string rt;
  append_quoted(rt, result_type);
  add_member(result, "resultType", rt);
  if (cache != nullptr) {
    add_member(result, "ttlMs", std::to_string(cache->ttl_ms));
    add_member(result, "cacheScope", cache->shared ? "\"public\"" : "\"private\"");
  }
  add_member(result, "_meta", s.srv.result_meta_json());
}

void push_result(engine_output& out, const scope& s, const request_id& id,
                 std::string result, const cache_hint* cache = nullptr) {
  decorate(s, result, cache);
  outgoing o;
  o.json = encode_result(id, result);
  o.stream = id;
  o.final = true;
  out.messages.push_back(std::move(o));
}

/// Whether `uri` names a resource a client may subscribe to: a listed one,
/// or a template match that exists.
bool resource_exists(const catalog_snapshot& snap, std::string_view uri) {
  if (snap.find_resource(uri) != nullptr || snap.fallback_read() != nullptr)
    return true;
  uri_template::variables vars;
  auto* tmpl = snap.match_template(uri, vars);
  return tmpl != nullptr && (!tmpl->def.exists || tmpl->def.exists(uri));
}

// -- params helpers -----------------------------------------------------------

std::optional<std::string_view> string_param(const message& msg,
                                             std::string_view key) {
  return as_string(msg.param(key));
}

std::optional<request_id> progress_token(const message& msg) {
  auto* meta = msg.meta();
  auto* tok = find_member(meta, "progressToken");
  if (tok == nullptr)
    return std::nullopt;
  return request_id::from(*tok);
}

// -- pagination ---------------------------------------------------------------

/// Offset encoded in a cursor for list `kind`, or nullopt if forged.
std::optional<size_t> open_cursor(const scope& s, std::string_view kind,
                                  const message& msg, bool& bad) {
  bad = false;
  auto* c = msg.param("cursor");
  if (c == nullptr || c->IsNull())
    return size_t{0};
  auto text = as_string(c);
  if (!text) {
    bad = true;
    return std::nullopt;
  }
  auto payload = s.srv.seal().open(std::string{"cursor:"} + std::string{kind},
                                   *text);
  if (!payload) {
    bad = true;
    return std::nullopt;
  }
  size_t offset = 0;
  for (char ch : *payload) {
    if (ch < '0' || ch > '9') {
      bad = true;
      return std::nullopt;
    }
    offset = offset * 10 + static_cast<size_t>(ch - '0');
  }
  return offset;
}

template <class Vec>
void list_page(const scope& s, const message& msg, engine_output& out,
               std::string_view kind, std::string_view field,
               const Vec& entries) {
  bool bad = false;
  auto offset = open_cursor(s, kind, msg, bad);
  if (bad) {
    push_error(out, msg.id, errc::invalid_params, "invalid cursor");
    return;
  }
  size_t page = s.srv.config().page_size;
  std::string result = "{";
  append_quoted(result, field);
  result += ":[";
  // unlisted entries (an upstream that is down) take no room on a page
  size_t end = *offset;
  size_t shown = 0;
  for (; end < entries.size() && shown < page; ++end) {
    if (!entries[end]->def.listed)
      continue;
    if (shown++ > 0)
      result += ',';
    result += entries[end]->listing;
  }
  while (end < entries.size() && !entries[end]->def.listed)
    ++end;
  result += ']';
  if (end < entries.size()) {
    result += R"(,"nextCursor":)";
    append_quoted(result,
                  s.srv.seal().seal(std::string{"cursor:"} + std::string{kind},
                                    std::to_string(end)));
  }
  result += '}';
  push_result(out, s, msg.id, std::move(result),
              &s.srv.cat().info().list_cache);
}

// -- completion ---------------------------------------------------------------

void complete(const scope& s, const message& msg, engine_output& out,
              const catalog_snapshot& snap) {
  auto* ref = msg.param("ref");
  auto* arg = msg.param("argument");
  auto type = as_string(find_member(ref, "type"));
  auto arg_name = as_string(find_member(arg, "name"));
  auto value = as_string(find_member(arg, "value"));
  if (!type || !arg_name || !value) {
    push_error(out, msg.id, errc::invalid_params,
               "completion/complete needs ref.type, argument.name and "
               "argument.value");
    return;
  }
  const std::map<std::string, completer>* completers = nullptr;
  if (*type == "ref/prompt") {
    auto name = as_string(find_member(ref, "name"));
    auto* p = name ? snap.find_prompt(*name) : nullptr;
    if (p == nullptr) {
      push_error(out, msg.id, errc::invalid_params, "unknown prompt");
      return;
    }
    completers = &p->def.complete;
  } else if (*type == "ref/resource") {
    auto uri = as_string(find_member(ref, "uri"));
    auto* t = uri ? snap.find_template(*uri) : nullptr;
    if (t == nullptr) {
      push_error(out, msg.id, errc::invalid_params,
                 "unknown resource template");
      return;
    }
    completers = &t->def.complete;
  } else {
    push_error(out, msg.id, errc::invalid_params,
               "ref.type must be ref/prompt or ref/resource");
    return;
  }
  uri_template::variables context;
  auto* ctx_args = find_member(find_member(msg.params, "context"), "arguments");
  if (ctx_args != nullptr && ctx_args->IsObject())
    for (auto& m : ctx_args->GetObject())
      if (m.value.IsString())
        context[std::string{m.name.GetString(), m.name.GetStringLength()}]
          = std::string{m.value.GetString(), m.value.GetStringLength()};
  std::vector<std::string> values;
  if (auto it = completers->find(std::string{*arg_name});
      it != completers->end() && it->second)
    values = it->second(*value, context);
  size_t total = values.size();
  size_t limit = s.srv.config().max_completions;
  std::string result = R"({"completion":{"values":[)";
  for (size_t i = 0; i < values.size() && i < limit; ++i) {
    if (i > 0)
      result += ',';
    append_quoted(result, values[i]);
  }
  result += R"(],"total":)";
  result += std::to_string(total);
  result += R"(,"hasMore":)";
  result += total > limit ? "true" : "false";
  result += "}}";
  push_result(out, s, msg.id, std::move(result));
}

// -- calls --------------------------------------------------------------------

/// Encoded requiredCapabilities object for missing capabilities such as
/// "sampling" or "elicitation.url".
std::string required_capabilities(const std::vector<std::string>& caps) {
  std::string out = "{";
  bool first = true;
  for (auto& c : caps) {
    if (!first)
      out += ',';
    first = false;
    auto dot = c.find('.');
    append_quoted(out, c.substr(0, dot));
    out += ':';
    if (dot == std::string::npos) {
      out += "{}";
    } else {
      out += '{';
      append_quoted(out, c.substr(dot + 1));
      out += ":{}}";
    }
  }
  out += '}';
  return out;
}

std::string method_of(const pending_call& call) {
  switch (call.what()) {
    case pending_call::kind::tool: return "tools/call";
    case pending_call::kind::resource: return "resources/read";
    case pending_call::kind::prompt: return "prompts/get";
  }
  return {};
}

/// The digest that binds a requestState to the request it came from:
/// method, target (tool, prompt or URI) and arguments.
std::string call_digest(pending_call& call) {
  std::string bound = method_of(call);
  bound += '\n';
  bound += call.target();
  bound += '\n';
  bound += call.context().canonical_arguments();
  return base64url_encode(sha256(bound));
}

/// Creates the call object shared by tools/call, resources/read and
/// prompts/get. Returns null (and answers) if the request cannot run.
std::shared_ptr<pending_call> new_call(const scope& s, message& msg,
                                       pending_call::kind kind,
                                       std::string target,
                                       const json_value* args) {
  std::shared_ptr<pending_call> p;
  auto& c = A::make(p);
  A::kind(c) = kind;
  A::id(c) = msg.id;
  A::target(c) = target;
  A::stateless(c) = s.stateless;
  auto ctx = std::make_unique<call_context>(s.rev, std::move(target), args);
  if (s.caps != nullptr)
    ctx->set_client_capabilities(*s.caps);
  ctx->set_progress_token(progress_token(msg));
  ctx->set_log_level(s.level);
  ctx->set_session(std::string{s.session});
  ctx->set_principal(msg.who);
  ctx->set_call(p);
  A::ctx(c) = std::move(ctx);
  return p;
}

/// For stateless calls: opens requestState and merges inputResponses into
/// the context. Answers and returns false on tampering or bad shapes.
bool load_round_inputs(const scope& s, message& msg, pending_call& call,
                       engine_output& out) {
  auto& ctx = *A::ctx(call);
  if (auto* state = msg.param("requestState")) {
    auto method = method_of(call);
    A::digest(call) = call_digest(call);
    auto token = as_string(state);
    auto payload = token ? s.srv.seal().open("state", *token) : std::nullopt;
    auto doc = payload ? parse_json(*payload) : std::nullopt;
    auto* m = doc ? find_member(&*doc, "m") : nullptr;
    auto* d = doc ? find_member(&*doc, "d") : nullptr;
    auto* e = doc ? find_member(&*doc, "e") : nullptr;
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    if (!doc || as_string(m) != method || as_string(d) != A::digest(call)
        || e == nullptr || !e->IsInt64() || e->GetInt64() < now_ms) {
      push_error(out, msg.id, errc::invalid_params,
                 "requestState is invalid, expired, or belongs to another "
                 "request");
      return false;
    }
    if (auto* answers = find_member(&*doc, "a"); answers && answers->IsObject())
      for (auto& a : answers->GetObject())
        ctx.add_answer({a.name.GetString(), a.name.GetStringLength()}, a.value,
                       false);
    if (auto* st = find_member(&*doc, "s"); st && st->IsString())
      ctx.set_state({st->GetString(), st->GetStringLength()});
  }
  if (auto* responses = msg.param("inputResponses")) {
    if (!responses->IsObject()) {
      push_error(out, msg.id, errc::invalid_params,
                 "inputResponses must be an object");
      return false;
    }
    for (auto& r : responses->GetObject()) {
      if (!r.value.IsObject()) {
        push_error(out, msg.id, errc::invalid_params,
                   "inputResponses." + std::string{r.name.GetString()}
                     + " must be an object (the client's result)");
        return false;
      }
      ctx.add_answer({r.name.GetString(), r.name.GetStringLength()}, r.value,
                     false);
    }
  }
  return true;
}

/// tools/call up to the point where the handler can run.
std::shared_ptr<pending_call> call_tool(const scope& s, message& msg,
                                        const std::shared_ptr<const catalog_snapshot>& snap,
                                        engine_output& out) {
  auto name = string_param(msg, "name");
  if (!name) {
    push_error(out, msg.id, errc::invalid_params,
               "tools/call needs params.name (a string)");
    return nullptr;
  }
  auto* entry = snap->find_tool(*name);
  if (entry == nullptr)
    entry = snap->fallback_tool();
  if (entry == nullptr) {
    push_error(out, msg.id, errc::invalid_params,
               "unknown tool '" + std::string{*name} + "'");
    return nullptr;
  }
  auto* args = msg.param("arguments");
  if (args != nullptr && !args->IsObject() && !args->IsNull()) {
    push_error(out, msg.id, errc::invalid_params,
               "tools/call arguments must be an object");
    return nullptr;
  }
  static const json_value empty_object{rapidjson::kObjectType};
  const json_value& arguments = args != nullptr && args->IsObject()
                                  ? *args
                                  : empty_object;
  // capabilities the tool cannot work without
  std::vector<std::string> missing;
  for (auto& cap : entry->def.requires_capabilities)
    if (s.caps == nullptr || !has_capability(*s.caps, cap))
      missing.push_back(cap);
  if (!missing.empty()) {
    std::string data = R"({"requiredCapabilities":)";
    data += required_capabilities(missing);
    data += '}';
    push_error(out, msg.id,
               s.stateless ? errc::missing_client_capability
                           : errc::invalid_params,
               "tool '" + entry->def.name
                 + "' needs a client capability that was not declared: "
                 + missing.front(),
               data, s.stateless ? 400 : 0);
    return nullptr;
  }
  // an idempotency key: a non-empty string of bounded length
  std::optional<std::string_view> key;
  if (auto* k = find_member(msg.meta(), idempotency_meta_key)) {
    key = as_string(k);
    if (!key || key->empty() || key->size() > max_idempotency_key) {
      push_error(out, msg.id, errc::invalid_params,
                 std::string{idempotency_meta_key} + " must be a string of 1 to "
                   + std::to_string(max_idempotency_key) + " characters");
      return nullptr;
    }
  }
  // the tasks extension: a tool that runs only as a task needs a request
  // that declares it (2026-07-28; it is not defined for sessions)
  bool tasks_declared = s.stateless && declares_tasks(s.caps);
  if (entry->def.tasks == task_support::required && !tasks_declared) {
    push_error(out, msg.id,
               s.stateless ? errc::missing_client_capability : errc::invalid_params,
               "tool '" + entry->def.name
                 + "' runs only as a task: the request must declare the "
                 + std::string{tasks_extension} + " extension (2026-07-28)",
               tasks_required_data(), s.stateless ? 400 : 0);
    return nullptr;
  }
  // arguments against the input schema (SEP-1303: a tool error, not a
  // protocol error, so the model can correct itself)
  if (!entry->input.accepts(arguments)) {
    auto errors = entry->input.validate(arguments);
    auto r = tool_result::error("Invalid arguments for tool '"
                                + entry->def.name
                                + "': " + json_schema::describe(errors));
    std::string result = R"({"content":[)" + r.content.front().json()
                         + R"(],"isError":true})";
    push_result(out, s, msg.id, std::move(result));
    return nullptr;
  }
  // the name called (for the fallback, not its own "*")
  auto call = new_call(s, msg, pending_call::kind::tool, std::string{*name}, &arguments);
  A::snap(*call) = snap;
  A::tool(*call) = entry;
  A::exec(*call) = entry->def.exec;
  const auto& ann = entry->def.annotations;
  A::replayable(*call) = ann.read_only.value_or(false)
                         || ann.idempotent.value_or(false);
  A::ctx(*call)->set_deadline(clock_type::now() + entry->def.timeout);
  // a task, unless the tool first asks for input by ordinary rounds and
  // this request does not bring answers yet
  bool answering = msg.param("inputResponses") != nullptr
                   || msg.param("requestState") != nullptr;
  A::as_task(*call) = tasks_declared && entry->def.tasks != task_support::forbidden
                      && (!entry->def.input_before_task || answering);
  if (key) {
    auto& k = A::idem_key(*call);
    k = s.stateless ? "client:" + (msg.who != nullptr ? msg.who->subject : std::string{})
                    : "session:" + std::string{s.session};
    k += '\n';
    k += *key;
    A::idem_digest(*call) = call_digest(*call);
  }
  return call;
}

std::shared_ptr<pending_call> read_resource(const scope& s, message& msg,
                                            const std::shared_ptr<const catalog_snapshot>& snap,
                                            engine_output& out) {
  auto uri = string_param(msg, "uri");
  if (!uri) {
    push_error(out, msg.id, errc::invalid_params,
               "resources/read needs params.uri (a string)");
    return nullptr;
  }
  read_handler handler;
  execution exec = execution::worker;
  cache_hint cache;
  uri_template::variables vars;
  if (auto* r = snap->find_resource(*uri)) {
    handler = r->def.handler;
    exec = r->def.exec;
    cache = r->def.cache;
  } else if (auto* t = snap->match_template(*uri, vars)) {
    handler = t->def.handler;
    exec = t->def.exec;
    cache = t->def.cache;
  } else if (auto* fallback = snap->fallback_read()) {
    handler = *fallback;
    exec = execution::inline_call;
  } else {
    std::string data = R"({"uri":)";
    append_quoted(data, *uri);
    data += '}';
    push_error(out, msg.id,
               s.stateless ? errc::invalid_params : errc::resource_not_found,
               "Resource not found", data);
    return nullptr;
  }
  auto call = new_call(s, msg, pending_call::kind::resource, std::string{*uri},
                       nullptr);
  A::snap(*call) = snap;
  A::read(*call) = std::move(handler);
  A::exec(*call) = exec;
  A::cache(*call) = cache;
  A::replayable(*call) = true;
  A::ctx(*call)->set_uri(std::string{*uri}, std::move(vars));
  A::ctx(*call)->set_deadline(clock_type::now() + std::chrono::minutes{1});
  return call;
}

std::shared_ptr<pending_call> get_prompt(const scope& s, message& msg,
                                         const std::shared_ptr<const catalog_snapshot>& snap,
                                         engine_output& out) {
  auto name = string_param(msg, "name");
  if (!name) {
    push_error(out, msg.id, errc::invalid_params,
               "prompts/get needs params.name (a string)");
    return nullptr;
  }
  auto* entry = snap->find_prompt(*name);
  if (entry == nullptr)
    entry = snap->fallback_prompt();
  if (entry == nullptr) {
    push_error(out, msg.id, errc::invalid_params,
               "unknown prompt '" + std::string{*name} + "'");
    return nullptr;
  }
  auto* args = msg.param("arguments");
  if (args != nullptr && !args->IsObject() && !args->IsNull()) {
    push_error(out, msg.id, errc::invalid_params,
               "prompts/get arguments must be an object of strings");
    return nullptr;
  }
  bool has_args = args != nullptr && args->IsObject();
  if (has_args) {
    for (auto& m : args->GetObject()) {
      if (!m.value.IsString()) {
        push_error(out, msg.id, errc::invalid_params,
                   "prompt argument '" + std::string{m.name.GetString()}
                     + "' must be a string");
        return nullptr;
      }
    }
  }
  for (auto& a : entry->def.arguments) {
    if (a.required && find_member(has_args ? args : nullptr, a.name) == nullptr) {
      push_error(out, msg.id, errc::invalid_params,
                 "prompt '" + entry->def.name + "' needs argument '" + a.name
                   + "'");
      return nullptr;
    }
  }
  auto call = new_call(s, msg, pending_call::kind::prompt, std::string{*name},
                       has_args ? args : nullptr);
  A::snap(*call) = snap;
  A::prompt(*call) = entry;
  A::exec(*call) = entry->def.exec;
  A::replayable(*call) = true;
  A::ctx(*call)->set_deadline(clock_type::now() + std::chrono::minutes{1});
  return call;
}

/// Encodes the complete result of a finished round.
std::string encode_outcome(pending_call& call) {
  std::string result;
  switch (call.what()) {
    case pending_call::kind::tool: {
      auto& r = *A::tool_out(call);
      result = R"({"content":[)";
      for (size_t i = 0; i < r.content.size(); ++i) {
        if (i > 0)
          result += ',';
        result += r.content[i].json();
      }
      result += ']';
      if (!r.structured.empty()) {
        result += R"(,"structuredContent":)";
        result += r.structured;
      }
      if (r.is_error)
        result += R"(,"isError":true)";
      result += '}';
      break;
    }
    case pending_call::kind::resource: {
      auto& r = *A::read_out(call);
      result = R"({"contents":[)";
      for (size_t i = 0; i < r.contents.size(); ++i) {
        if (i > 0)
          result += ',';
        result += r.contents[i].json();
      }
      result += "]}";
      break;
    }
    case pending_call::kind::prompt: {
      auto& r = *A::prompt_out(call);
      result = "{";
      if (!r.description.empty()) {
        result += R"("description":)";
        append_quoted(result, r.description);
        result += ',';
      }
      result += R"("messages":[)";
      for (size_t i = 0; i < r.messages.size(); ++i) {
        if (i > 0)
          result += ',';
        result += R"({"role":)";
        append_quoted(result, r.messages[i].role);
        result += R"(,"content":)";
        result += r.messages[i].content.json();
        result += '}';
      }
      result += "]}";
      break;
    }
  }
  return result;
}

bool needs_input(pending_call& call) {
  switch (call.what()) {
    case pending_call::kind::tool:
      return A::tool_out(call) && A::tool_out(call)->needs_input;
    case pending_call::kind::resource:
      return A::read_out(call) && A::read_out(call)->needs_input;
    case pending_call::kind::prompt:
      return A::prompt_out(call) && A::prompt_out(call)->needs_input;
  }
  return false;
}

/// Answers a finished round unless it needs input. Returns true if the call
/// is complete (answered).
bool complete_round(const scope& s, pending_call& call, engine_output& out) {
  const auto& id = call.id();
  if (!A::error_text(call).empty()) {
    push_error(out, id, errc::internal_error, A::error_text(call), A::error_data(call),
               A::error_status(call));
    return true;
  }
  if (needs_input(call))
    return false;
  if (call.what() == pending_call::kind::resource && A::read_out(call)
      && (A::read_out(call)->not_found || A::read_out(call)->contents.empty())) {
    std::string data = R"({"uri":)";
    append_quoted(data, call.target());
    data += '}';
    push_error(out, id,
               s.stateless ? errc::invalid_params : errc::resource_not_found,
               "Resource not found", data);
    return true;
  }
  auto result = encode_outcome(call);
  if (auto limit = s.srv.config().max_result_bytes; result.size() > limit) {
    auto what = call.what() == pending_call::kind::resource ? "the resource"
                                                            : "the result";
    push_error(out, id, errc::internal_error,
               std::string{what} + " is too large to send: "
                 + std::to_string(result.size()) + " bytes encoded, the limit is "
                 + std::to_string(limit),
               R"({"size":)" + std::to_string(result.size()) + R"(,"limit":)"
                 + std::to_string(limit) + '}');
    return true;
  }
  const cache_hint* cache = nullptr;
  cache_hint hint;
  if (call.what() == pending_call::kind::resource) {
    hint = A::read_out(call)->cache.value_or(A::cache(call));
    cache = &hint;
  }
  push_result(out, s, id, std::move(result), cache);
  return true;
}

/// The answer when a handler asked for input the client cannot give.
void refuse_missing_capabilities(const scope& s, pending_call& call,
                                 engine_output& out) {
  const auto& missing = call.context().missing_capabilities();
  std::string data = R"({"requiredCapabilities":)";
  data += required_capabilities(missing);
  data += '}';
  push_error(out, call.id(),
             s.stateless ? errc::missing_client_capability
                         : errc::invalid_params,
             "the request needs a client capability that was not declared: "
               + missing.front(),
             data, s.stateless ? 400 : 0);
}

/// Methods both eras share, after era-specific checks.
void dispatch(const scope& s, message& msg, engine_output& out) {
  auto snap = s.srv.cat().current();
  auto m = msg.method;
  std::shared_ptr<pending_call> call;
  if (m == "tools/list") {
    list_page(s, msg, out, "tools", "tools", snap->tools());
  } else if (m == "tools/call") {
    call = call_tool(s, msg, snap, out);
  } else if (m == "resources/list") {
    list_page(s, msg, out, "resources", "resources", snap->resources());
  } else if (m == "resources/templates/list") {
    list_page(s, msg, out, "templates", "resourceTemplates",
              snap->templates());
  } else if (m == "resources/read") {
    call = read_resource(s, msg, snap, out);
  } else if (m == "prompts/list") {
    list_page(s, msg, out, "prompts", "prompts", snap->prompts());
  } else if (m == "prompts/get") {
    call = get_prompt(s, msg, snap, out);
  } else if (m == "completion/complete") {
    complete(s, msg, out, *snap);
  } else {
    push_error(out, msg.id, errc::method_not_found,
               "method not found: " + std::string{m}, {},
               s.stateless ? 404 : 0);
    return;
  }
  if (call)
    out.calls.push_back(std::move(call));
}

} // namespace

// -- session ------------------------------------------------------------------

session::session(const server_context& srv)
  : srv_(srv), level_(srv.config().session_log_level) {
  // nop
}

session::~session() = default;

std::vector<request_id> session::call_ids() const {
  std::vector<request_id> ids;
  ids.reserve(calls_.size());
  for (auto& [id, call] : calls_)
    ids.push_back(id);
  return ids;
}

bool session::subscribed(std::string_view uri) const {
  return subscriptions_.count(std::string{uri}) > 0;
}

void session::receive(message& msg, engine_output& out) {
  switch (msg.kind) {
    case message_kind::request:
      request(msg, out);
      return;
    case message_kind::notification:
      if (msg.method == "notifications/initialized") {
        ready_ = initialized_;
        ++version_;
      } else if (msg.method == "notifications/cancelled") {
        if (auto* rid = msg.param("requestId"))
          if (auto id = request_id::from(*rid))
            cancel(*id, "cancelled by the client", true, out);
      }
      // other notifications (roots/list_changed, progress) need no answer
      return;
    case message_kind::result:
    case message_kind::error:
      answer(msg, out);
      return;
  }
}

void session::request(message& msg, engine_output& out) {
  auto m = msg.method;
  if (m == "initialize") {
    if (initialized_) {
      push_error(out, msg.id, errc::invalid_request,
                 "the session is already initialized");
      return;
    }
    auto version = string_param(msg, "protocolVersion");
    auto* caps = msg.param("capabilities");
    auto* info = msg.param("clientInfo");
    if (!version || caps == nullptr || !caps->IsObject() || info == nullptr
        || !info->IsObject()) {
      push_error(out, msg.id, errc::invalid_params,
                 "initialize needs protocolVersion, capabilities and "
                 "clientInfo");
      return;
    }
    rev_ = negotiate_session(*version);
    caps_ = deep_copy(*caps, caps_pool_);
    client_name_ = std::string{as_string(find_member(info, "name")).value_or("")};
    client_info_ = to_json(*info);
    if (msg.who != nullptr) {
      subject_ = msg.who->subject;
      scopes_ = msg.who->scope_text();
    }
    initialized_ = true;
    ++version_;
    std::string result = R"({"protocolVersion":")";
    result += to_string(rev_);
    result += R"(","capabilities":)";
    result += srv_.capabilities_json(false);
    result += R"(,"serverInfo":)";
    result += srv_.server_info_json();
    const auto& instructions = srv_.cat().info().instructions;
    if (!instructions.empty()) {
      result += R"(,"instructions":)";
      append_quoted(result, instructions);
    }
    result += '}';
    scope s{srv_, rev_, false, &caps_, level_, key_};
    push_result(out, s, msg.id, std::move(result));
    return;
  }
  if (m == "ping") {
    scope s{srv_, rev_, false, &caps_, level_, key_};
    push_result(out, s, msg.id, "{}");
    return;
  }
  if (!initialized_) {
    push_error(out, msg.id, errc::invalid_request,
               "the session is not initialized: send initialize first");
    return;
  }
  if (calls_.count(msg.id) > 0) {
    push_error(out, msg.id, errc::invalid_request,
               "a request with this id is still in progress");
    return;
  }
  scope s{srv_, rev_, false, &caps_, level_, key_};
  if (m == "logging/setLevel") {
    auto lvl = parse_log_level(string_param(msg, "level").value_or(""));
    if (!lvl) {
      push_error(out, msg.id, errc::invalid_params,
                 "level must be one of debug, info, notice, warning, error, "
                 "critical, alert, emergency");
      return;
    }
    level_ = *lvl;
    ++version_;
    push_result(out, s, msg.id, "{}");
    return;
  }
  if (m == "resources/subscribe" || m == "resources/unsubscribe") {
    auto uri = string_param(msg, "uri");
    if (!uri) {
      push_error(out, msg.id, errc::invalid_params, "params.uri is required");
      return;
    }
    if (m == "resources/unsubscribe") {
      if (subscriptions_.erase(std::string{*uri}) > 0)
        srv_.cat().subscription(*uri, false);
      ++version_;
      push_result(out, s, msg.id, "{}");
      return;
    }
    if (!resource_exists(*srv_.cat().current(), *uri)) {
      std::string data = R"({"uri":)";
      append_quoted(data, *uri);
      data += '}';
      push_error(out, msg.id, errc::resource_not_found, "Resource not found",
                 data);
      return;
    }
    if (subscriptions_.size() >= srv_.config().max_subscriptions
        && !subscribed(*uri)) {
      push_error(out, msg.id, errc::invalid_params,
                 "subscription limit of "
                   + std::to_string(srv_.config().max_subscriptions)
                   + " resources per session reached");
      return;
    }
    if (subscriptions_.insert(std::string{*uri}).second)
      srv_.cat().subscription(*uri, true);
    ++version_;
    push_result(out, s, msg.id, "{}");
    return;
  }
  if (m == "server/discover" || m == "subscriptions/listen") {
    push_error(out, msg.id, errc::method_not_found,
               "method not found in a " + std::string{to_string(rev_)}
                 + " session: " + std::string{m});
    return;
  }
  size_t before = out.calls.size();
  dispatch(s, msg, out);
  for (size_t i = before; i < out.calls.size(); ++i)
    calls_[out.calls[i]->id()] = out.calls[i];
}

void session::send_asks(pending_call& call, engine_output& out) {
  auto& ctx = call.context();
  auto deadline = clock_type::now() + srv_.config().input_timeout;
  ++version_;
  for (auto& ask : ctx.pending()) {
    request_id rid{next_request_id_++};
    std::string params = ask.request.params_json();
    if (ask.request.is_url_elicitation()) {
      // 2025-11-25 URL mode needs an elicitationId
      std::string id;
      append_quoted(id, elicitation_id(call.id(), ask.key));
      add_member(params, "elicitationId", id);
    }
    outgoing o;
    o.json = encode_request(rid, ask.request.method(), params);
    o.kind = message_kind::request;
    o.stream = call.id();
    out.messages.push_back(std::move(o));
    asks_[rid] = server_request{call.id(), ask.key, deadline};
  }
}

void session::finish(pending_call& call, engine_output& out) {
  if (A::done(call) || A::cancelled(call) || call.deferred())
    return;
  scope s{srv_, rev_, false, &caps_, level_, key_};
  if (complete_round(s, call, out)) {
    A::done(call) = true;
    call.context().finish();
    calls_.erase(call.id());
    return;
  }
  auto& ctx = call.context();
  if (!ctx.missing_capabilities().empty()) {
    refuse_missing_capabilities(s, call, out);
  } else if (ctx.pending().empty()) {
    push_error(out, call.id(), errc::internal_error,
               "the handler needs input but did not ask for any");
  } else if (++A::rounds(call) > srv_.config().max_input_rounds) {
    push_error(out, call.id(), errc::internal_error,
               "the handler asked for input too many times");
  } else {
    send_asks(call, out);
    return;
  }
  A::done(call) = true;
  ctx.finish();
  calls_.erase(call.id());
}

void session::answer(message& msg, engine_output& out) {
  auto it = asks_.find(msg.id);
  if (it == asks_.end())
    return; // late, duplicate or unknown: nothing waits for it
  auto req = std::move(it->second);
  asks_.erase(it);
  auto call_it = calls_.find(req.call);
  if (call_it == calls_.end())
    return;
  auto call = call_it->second;
  bool is_error = msg.kind == message_kind::error;
  call->context().add_answer(req.key, is_error ? *msg.error : *msg.result,
                             is_error);
  for (auto& [rid, other] : asks_)
    if (other.call == req.call)
      return; // more answers to wait for
  out.calls.push_back(call); // run the handler again, answers in hand
}

void session::cancel(const request_id& id, std::string_view reason,
                     bool silent, engine_output& out) {
  auto it = calls_.find(id);
  if (it == calls_.end())
    return;
  auto call = it->second;
  A::cancelled(*call) = true;
  call->context().finish();
  calls_.erase(it);
  for (auto a = asks_.begin(); a != asks_.end();) {
    if (a->second.call == id)
      a = asks_.erase(a);
    else
      ++a;
  }
  if (!silent)
    push_error(out, id, errc::internal_error, reason);
}

void session::tick(clock_type::time_point now, engine_output& out) {
  std::vector<request_id> expired;
  for (auto& [rid, req] : asks_)
    if (req.deadline <= now)
      expired.push_back(req.call);
  for (auto& [id, call] : calls_)
    if (call->deadline() <= now)
      expired.push_back(id);
  for (auto& id : expired)
    cancel(id, "the request timed out", false, out);
}

std::optional<clock_type::time_point> session::next_deadline() const {
  std::optional<clock_type::time_point> next;
  auto consider = [&](clock_type::time_point t) {
    if (!next || t < *next)
      next = t;
  };
  for (auto& [rid, req] : asks_)
    consider(req.deadline);
  for (auto& [id, call] : calls_)
    consider(call->deadline());
  return next;
}

void session::notify_change(catalog_change what, std::string_view uri,
                            engine_output& out) {
  if (!initialized_)
    return;
  outgoing o;
  o.kind = message_kind::notification;
  switch (what) {
    case catalog_change::tools:
      o.json = encode_notification("notifications/tools/list_changed", {});
      break;
    case catalog_change::prompts:
      o.json = encode_notification("notifications/prompts/list_changed", {});
      break;
    case catalog_change::resources:
      o.json = encode_notification("notifications/resources/list_changed", {});
      break;
    case catalog_change::resource_updated: {
      if (!subscribed(uri))
        return;
      std::string p = R"({"uri":)";
      append_quoted(p, uri);
      p += '}';
      o.json = encode_notification("notifications/resources/updated", p);
      break;
    }
  }
  out.messages.push_back(std::move(o));
}

std::string session::checkpoint() const {
  // Short keys: 100,000 sessions keep one each (see docs/benchmarks.md).
  // v revision, r ready (initialized notification seen), c client
  // capabilities, n client info, l log level, s subscriptions, x next id
  // of a server-to-client request. Only initialized sessions are saved.
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  w.Key("v");
  auto r = to_string(rev_);
  w.String(r.data(), static_cast<rapidjson::SizeType>(r.size()));
  w.Key("r");
  w.Int(ready_ ? 1 : 0);
  w.Key("c");
  caps_.Accept(w);
  w.Key("n");
  w.RawValue(client_info_.empty() ? "{}" : client_info_.data(),
             client_info_.empty() ? 2 : client_info_.size(),
             rapidjson::kObjectType);
  w.Key("l");
  w.Int(static_cast<int>(level_));
  if (!subscriptions_.empty()) {
    w.Key("s");
    w.StartArray();
    for (auto& sub : subscriptions_)
      w.String(sub.data(), static_cast<rapidjson::SizeType>(sub.size()));
    w.EndArray();
  }
  w.Key("x");
  w.Int64(next_request_id_);
  write_string_if(w, "u", subject_);
  write_string_if(w, "q", scopes_);
  w.EndObject();
  return out;
}

bool session::restore(std::string_view checkpoint) {
  auto doc = parse_json(checkpoint);
  if (!doc || !doc->IsObject())
    return false;
  auto rev = parse_revision(as_string(find_member(&*doc, "v")).value_or(""));
  auto* ready = find_member(&*doc, "r");
  auto* caps = find_member(&*doc, "c");
  auto* client = find_member(&*doc, "n");
  auto* level = find_member(&*doc, "l");
  auto* subs = find_member(&*doc, "s");
  auto* next = find_member(&*doc, "x");
  if (!rev || ready == nullptr || !ready->IsInt() || caps == nullptr
      || !caps->IsObject() || client == nullptr || !client->IsObject()
      || level == nullptr || !level->IsInt() || (subs != nullptr && !subs->IsArray())
      || next == nullptr || !next->IsInt64())
    return false;
  rev_ = *rev;
  initialized_ = true;
  ready_ = ready->GetInt() != 0;
  caps_.SetObject();
  caps_pool_.Clear();
  caps_ = deep_copy(*caps, caps_pool_);
  client_info_ = to_json(*client);
  client_name_ = std::string{as_string(find_member(client, "name")).value_or("")};
  subject_ = std::string{as_string(find_member(&*doc, "u")).value_or("")};
  scopes_ = std::string{as_string(find_member(&*doc, "q")).value_or("")};
  level_ = static_cast<log_level>(
    std::clamp(level->GetInt(), 0, static_cast<int>(log_level::off)));
  subscriptions_.clear();
  if (subs != nullptr)
    for (auto& sub : subs->GetArray())
      if (sub.IsString())
        subscriptions_.insert(std::string{sub.GetString(), sub.GetStringLength()});
  next_request_id_ = next->GetInt64();
  return true;
}

// -- stateless ----------------------------------------------------------------

namespace {

constexpr std::string_view meta_version = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view meta_caps = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view meta_level = "io.modelcontextprotocol/logLevel";

std::string supported_versions_json() {
  std::string out = "[";
  for (auto it = all_revisions.rbegin(); it != all_revisions.rend(); ++it) {
    if (out.size() > 1)
      out += ',';
    append_quoted(out, to_string(*it));
  }
  out += ']';
  return out;
}

/// Header value as the spec encodes it: plain, or =?base64?...?=. nullopt
/// if the encoding is broken.
std::optional<std::string> header_value(std::string_view v) {
  constexpr std::string_view prefix = "=?base64?";
  constexpr std::string_view suffix = "?=";
  if (v.size() >= prefix.size() + suffix.size()
      && v.substr(0, prefix.size()) == prefix
      && v.substr(v.size() - suffix.size()) == suffix)
    return base64_decode(
      v.substr(prefix.size(), v.size() - prefix.size() - suffix.size()));
  for (char c : v)
    if (!(c == '\t' || (c >= 0x20 && c <= 0x7e)))
      return std::nullopt;
  return std::string{v};
}

outgoing mismatch(const request_id& id, std::string text) {
  outgoing o;
  o.json = encode_error(id, errc::header_mismatch, "Header mismatch: " + text);
  o.kind = message_kind::error;
  o.stream = id;
  o.final = true;
  o.http_status = 400;
  return o;
}

/// The header form of an argument value: strings as they are, integers in
/// decimal, booleans as true/false. nullopt for anything else.
std::optional<std::string> argument_text(const json_value& v) {
  if (v.IsString())
    return std::string{v.GetString(), v.GetStringLength()};
  if (v.IsBool())
    return std::string{v.GetBool() ? "true" : "false"};
  if (v.IsInt64())
    return std::to_string(v.GetInt64());
  if (v.IsUint64())
    return std::to_string(v.GetUint64());
  if (v.IsDouble() && std::isfinite(v.GetDouble())
      && std::floor(v.GetDouble()) == v.GetDouble()) {
    // beyond 2^63 a cast would be undefined (found by the engine fuzz target)
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%.0f", v.GetDouble());
    return std::string{buf};
  }
  return std::nullopt;
}

/// Same integer even if written differently ("42" and "42.0").
bool same_number(std::string_view a, std::string_view b) {
  try {
    size_t ia = 0;
    size_t ib = 0;
    double x = std::stod(std::string{a}, &ia);
    double y = std::stod(std::string{b}, &ib);
    return ia == a.size() && ib == b.size() && x == y;
  } catch (...) {
    return false;
  }
}

} // namespace

std::optional<outgoing> check_headers(const server_context& srv,
                                      const message& msg,
                                      const mcp_headers& h) {
  const auto& id = msg.id;
  auto meta_pv = as_string(find_member(msg.meta(), meta_version));
  if (h.protocol_version.empty())
    return mismatch(id, "MCP-Protocol-Version header is missing");
  if (meta_pv && *meta_pv != h.protocol_version)
    return mismatch(id, "MCP-Protocol-Version header '"
                          + std::string{h.protocol_version}
                          + "' does not match _meta protocolVersion '"
                          + std::string{*meta_pv} + "'");
  if (msg.kind != message_kind::request)
    return std::nullopt; // header rules are defined for requests
  if (!h.has_method)
    return mismatch(id, "Mcp-Method header is missing");
  if (h.method != msg.method)
    return mismatch(id, "Mcp-Method header '" + std::string{h.method}
                          + "' does not match method '"
                          + std::string{msg.method} + "'");
  std::optional<std::string_view> body_name;
  if (msg.method == "tools/call" || msg.method == "prompts/get")
    body_name = as_string(msg.param("name"));
  else if (msg.method == "resources/read")
    body_name = as_string(msg.param("uri"));
  else if (msg.method == "tasks/get" || msg.method == "tasks/update"
           || msg.method == "tasks/cancel")
    body_name = as_string(msg.param("taskId"));
  if (body_name) {
    if (!h.has_name)
      return mismatch(id, "Mcp-Name header is missing");
    auto name = header_value(h.name);
    if (!name)
      return mismatch(id, "Mcp-Name header value is not validly encoded");
    if (*name != *body_name)
      return mismatch(id, "Mcp-Name header value '" + *name
                            + "' does not match body value '"
                            + std::string{*body_name} + "'");
  }
  if (msg.method != "tools/call" || !body_name)
    return std::nullopt;
  auto snap = srv.cat().current();
  auto* tool = snap->find_tool(*body_name);
  if (tool == nullptr)
    return std::nullopt; // unknown tools are answered by the engine
  auto* args = msg.param("arguments");
  for (auto& p : tool->header_params) {
    const json_value* v = args;
    for (auto& step : p.path)
      v = find_member(v, step);
    std::optional<std::string_view> sent;
    for (auto& [name, value] : h.params)
      if (iequals(name, p.header))
        sent = value;
    bool present = v != nullptr && !v->IsNull();
    if (!present) {
      continue; // a header without a body value is tolerated (ignored)
    }
    if (!sent)
      return mismatch(id, "Mcp-Param-" + p.header
                            + " header is missing for a value in the body");
    auto decoded = header_value(*sent);
    if (!decoded)
      return mismatch(id, "Mcp-Param-" + p.header
                            + " header contains invalid characters or "
                              "invalid Base64");
    auto body = argument_text(*v);
    bool equal = body && (*body == *decoded
                          || (p.type == "integer" && same_number(*body, *decoded)));
    if (!equal)
      return mismatch(id, "Mcp-Param-" + p.header
                            + " header does not match the body value");
  }
  return std::nullopt;
}

void serve_stateless(const server_context& srv, message& msg,
                     const mcp_headers* headers, engine_output& out) {
  if (msg.kind == message_kind::result || msg.kind == message_kind::error)
    return; // nothing was asked of the client: ignore stray responses
  auto* meta = msg.meta();
  auto pv = as_string(find_member(meta, meta_version));
  auto* caps = find_member(meta, meta_caps);
  bool notification = msg.kind == message_kind::notification;
  if (notification) {
    if (msg.method == "notifications/cancelled")
      if (auto* rid = msg.param("requestId"))
        if (auto id = request_id::from(*rid))
          out.cancels.push_back(std::move(*id));
    return;
  }
  if (meta == nullptr || !pv || caps == nullptr || !caps->IsObject()) {
    push_error(out, msg.id, errc::invalid_params,
               meta == nullptr
                 ? "Invalid params: _meta is required (protocolVersion and "
                   "clientCapabilities)"
                 : "Invalid params: _meta needs " + std::string{meta_version}
                     + " and " + std::string{meta_caps},
               {}, 400);
    return;
  }
  if (headers != nullptr) {
    if (auto err = check_headers(srv, msg, *headers)) {
      out.messages.push_back(std::move(*err));
      return;
    }
  }
  auto rev = parse_revision(*pv);
  if (!rev || !is_stateless(*rev)) {
    std::string data = R"({"supported":)";
    data += supported_versions_json();
    data += R"(,"requested":)";
    append_quoted(data, *pv);
    data += '}';
    push_error(out, msg.id, errc::unsupported_version,
               "Unsupported protocol version", data, 400);
    return;
  }
  log_level level = log_level::off;
  if (auto* lvl = find_member(meta, meta_level)) {
    auto parsed = parse_log_level(as_string(lvl).value_or(""));
    if (!parsed) {
      push_error(out, msg.id, errc::invalid_params,
                 "Invalid params: logLevel is not a log level", {}, 400);
      return;
    }
    level = *parsed;
  }
  scope s{srv, *rev, true, caps, level, {}};
  auto m = msg.method;
  if (m == "server/discover") {
    std::string result = R"({"supportedVersions":)";
    result += supported_versions_json();
    result += R"(,"capabilities":)";
    result += srv.capabilities_json(true);
    const auto& instructions = srv.cat().info().instructions;
    if (!instructions.empty()) {
      result += R"(,"instructions":)";
      append_quoted(result, instructions);
    }
    result += '}';
    push_result(out, s, msg.id, std::move(result),
                &srv.cat().info().list_cache);
    return;
  }
  if (m == "subscriptions/listen") {
    auto* filter = msg.param("notifications");
    if (filter == nullptr || !filter->IsObject()) {
      push_error(out, msg.id, errc::invalid_params,
                 "subscriptions/listen needs params.notifications (an "
                 "object)");
      return;
    }
    engine_output::listen l;
    l.id = msg.id;
    auto flag = [&](const char* key) {
      auto* v = find_member(filter, key);
      return v != nullptr && v->IsBool() && v->GetBool();
    };
    l.tools = flag("toolsListChanged");
    l.prompts = flag("promptsListChanged");
    l.resources = flag("resourcesListChanged");
    if (auto* ids = find_member(filter, "taskIds"); ids != nullptr && ids->IsArray()
                                                    && ids->Size() > 0) {
      if (!declares_tasks(caps)) {
        push_error(out, msg.id, errc::missing_client_capability,
                   "listening to tasks needs the " + std::string{tasks_extension}
                     + " extension declared in the request's clientCapabilities",
                   tasks_required_data(), 400);
        return;
      }
      for (auto& id : ids->GetArray())
        if (id.IsString() && l.task_ids.size() < srv.config().max_subscriptions)
          l.task_ids.emplace_back(id.GetString(), id.GetStringLength());
      if (msg.who != nullptr)
        l.owner = msg.who->subject;
    }
    if (auto* uris = find_member(filter, "resourceSubscriptions");
        uris != nullptr && uris->IsArray()) {
      auto snap = srv.cat().current();
      for (auto& u : uris->GetArray())
        if (u.IsString() && l.uris.size() < srv.config().max_subscriptions
            && resource_exists(*snap, {u.GetString(), u.GetStringLength()}))
          l.uris.emplace_back(u.GetString(), u.GetStringLength());
    }
    std::string honored = "{";
    auto add = [&](const char* key) {
      if (honored.size() > 1)
        honored += ',';
      honored += '"';
      honored += key;
      honored += "\":true";
    };
    if (l.tools)
      add("toolsListChanged");
    if (l.prompts)
      add("promptsListChanged");
    if (l.resources)
      add("resourcesListChanged");
    if (!l.uris.empty()) {
      if (honored.size() > 1)
        honored += ',';
      honored += R"("resourceSubscriptions":[)";
      for (size_t i = 0; i < l.uris.size(); ++i) {
        if (i > 0)
          honored += ',';
        append_quoted(honored, l.uris[i]);
      }
      honored += ']';
    }
    if (!l.task_ids.empty()) {
      if (honored.size() > 1)
        honored += ',';
      honored += R"("taskIds":[)";
      for (size_t i = 0; i < l.task_ids.size(); ++i) {
        if (i > 0)
          honored += ',';
        append_quoted(honored, l.task_ids[i]);
      }
      honored += ']';
    }
    honored += '}';
    std::string params = R"({"_meta":{"io.modelcontextprotocol/subscriptionId":)";
    params += msg.id.to_json();
    params += R"(},"notifications":)";
    params += honored;
    params += '}';
    outgoing ack;
    ack.json = encode_notification("notifications/subscriptions/acknowledged",
                                   params);
    ack.kind = message_kind::notification;
    ack.stream = msg.id;
    out.messages.push_back(std::move(ack));
    out.subscribe = std::move(l);
    return;
  }
  if (m == "initialize" || m == "ping" || m == "logging/setLevel"
      || m == "resources/subscribe" || m == "resources/unsubscribe") {
    push_error(out, msg.id, errc::method_not_found,
               "Method not found: " + std::string{m}
                 + " is not part of protocol revision 2026-07-28",
               {}, 404);
    return;
  }
  if (m == "tasks/get" || m == "tasks/update" || m == "tasks/cancel") {
    if (!declares_tasks(caps)) {
      push_error(out, msg.id, errc::missing_client_capability,
                 std::string{m} + " needs the " + std::string{tasks_extension}
                   + " extension declared in the request's clientCapabilities",
                 tasks_required_data(), 400);
      return;
    }
    auto task_id = string_param(msg, "taskId");
    if (!task_id) {
      push_error(out, msg.id, errc::invalid_params,
                 std::string{m} + " needs params.taskId (a string)");
      return;
    }
    engine_output::task_request r;
    r.id = msg.id;
    r.method = std::string{m};
    r.task_id = std::string{*task_id};
    if (msg.who != nullptr)
      r.owner = msg.who->subject;
    if (m == "tasks/update") {
      auto* answers = msg.param("inputResponses");
      if (answers == nullptr || !answers->IsObject()) {
        push_error(out, msg.id, errc::invalid_params,
                   "tasks/update needs params.inputResponses (an object)");
        return;
      }
      for (auto& a : answers->GetObject())
        r.answers.emplace_back(std::string{a.name.GetString(), a.name.GetStringLength()},
                               to_json(a.value));
    }
    out.task = std::move(r);
    return;
  }
  size_t before = out.calls.size();
  dispatch(s, msg, out);
  for (size_t i = before; i < out.calls.size(); ++i) {
    auto& call = *out.calls[i];
    if (!load_round_inputs(s, msg, call, out)) {
      out.calls.resize(i);
      return;
    }
  }
}

void finish_stateless(const server_context& srv, pending_call& call,
                      engine_output& out) {
  if (A::done(call) || A::cancelled(call) || call.deferred())
    return;
  auto& ctx = call.context();
  scope s{srv, ctx.protocol_revision(), true, &ctx.client_capabilities(),
          log_level::off, {}};
  A::done(call) = true;
  ctx.finish();
  if (complete_round(s, call, out))
    return;
  if (!ctx.missing_capabilities().empty()) {
    refuse_missing_capabilities(s, call, out);
    return;
  }
  // input_required: the requests not yet answered, and a sealed state that
  // binds method, params digest and expiry and carries the answers so far
  std::string result = R"({"resultType":"input_required")";
  if (!ctx.pending().empty()) {
    result += R"(,"inputRequests":{)";
    bool first = true;
    for (auto& ask : ctx.pending()) {
      if (!first)
        result += ',';
      first = false;
      append_quoted(result, ask.key);
      result += R"(:{"method":)";
      append_quoted(result, ask.request.method());
      result += R"(,"params":)";
      result += ask.request.params_json();
      result += '}';
    }
    result += '}';
  }
  auto expiry = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()
                  + srv.config().request_state_ttl)
                  .count();
  std::string payload = R"({"m":)";
  append_quoted(payload, method_of(call));
  if (A::digest(call).empty())
    A::digest(call) = call_digest(call);
  payload += R"(,"d":)";
  append_quoted(payload, A::digest(call));
  payload += R"(,"e":)";
  payload += std::to_string(expiry);
  payload += R"(,"a":)";
  payload += ctx.used_answers_json();
  if (!ctx.state_json().empty()) {
    payload += R"(,"s":)";
    append_quoted(payload, ctx.state_json());
  }
  payload += '}';
  result += R"(,"requestState":)";
  append_quoted(result, srv.seal().seal("state", payload));
  result += '}';
  add_member(result, "_meta", srv.result_meta_json());
  outgoing o;
  o.json = encode_result(call.id(), result);
  o.stream = call.id();
  o.final = true;
  out.messages.push_back(std::move(o));
}

// -- the tasks extension ----------------------------------------------------------

namespace {

void push_encoded(engine_output& out, const request_id& id, std::string result) {
  outgoing o;
  o.json = encode_result(id, result);
  o.stream = id;
  o.final = true;
  out.messages.push_back(std::move(o));
}

} // namespace

std::shared_ptr<pending_call> serve_task_request(const server_context& srv,
                                                 task_table& table,
                                                 const engine_output::task_request& req,
                                                 int64_t now_ms,
                                                 engine_output& out) {
  auto* t = table.find(req.task_id, req.owner, now_ms);
  if (t == nullptr) {
    std::string data = R"({"taskId":)";
    append_quoted(data, req.task_id);
    data += '}';
    push_error(out, req.id, errc::invalid_params,
               "unknown task: it does not exist, has expired, or belongs to "
               "another client",
               data);
    return nullptr;
  }
  const auto& meta = srv.result_meta_json();
  if (req.method == "tasks/get") {
    push_encoded(out, req.id, get_task_result(*t, meta));
    return nullptr;
  }
  if (req.method == "tasks/cancel") {
    task_table::cancel(*t, now_ms);
    push_encoded(out, req.id, task_ack(meta));
    return nullptr;
  }
  // tasks/update: answers to outstanding requests go to the call's context
  // (no round runs while a task waits for input)
  auto call = t->call;
  std::vector<std::pair<std::string, std::string>> taken;
  for (auto& a : req.answers) {
    bool outstanding = std::any_of(t->asks.begin(), t->asks.end(),
                                   [&](auto& k) { return k.first == a.first; });
    auto doc = outstanding ? parse_json(a.second) : std::nullopt;
    if (!doc || !doc->IsObject())
      continue; // not asked, answered already, or not a result: ignored
    if (call != nullptr)
      call->context().add_answer(a.first, *doc, false);
    taken.push_back(a);
  }
  auto o = task_table::answer(*t, taken, now_ms);
  push_encoded(out, req.id, task_ack(meta));
  if (!o.resume || call == nullptr)
    return nullptr;
  // the next round has the tool's whole timeout again
  A::ctx(*call)->set_deadline(clock_type::now() + A::tool(*call)->def.timeout);
  return call;
}

void finish_task_round(const server_context& srv, task& t, pending_call& call,
                       int64_t now_ms) {
  if (call.deferred())
    return;
  auto& ctx = call.context();
  if (is_terminal(t.status) || t.call.get() != &call) {
    ctx.finish();
    return;
  }
  ++t.rounds;
  if (!A::error_text(call).empty()) {
    ctx.finish();
    task_table::fail(t, errc::internal_error, A::error_text(call), now_ms,
                     A::error_data(call));
    return;
  }
  if (needs_input(call)) {
    if (!ctx.missing_capabilities().empty()) {
      ctx.finish();
      std::string data = R"({"requiredCapabilities":)";
      data += required_capabilities(ctx.missing_capabilities());
      data += '}';
      task_table::fail(t, errc::missing_client_capability,
                       "the task needs a client capability that its request "
                       "did not declare: "
                         + ctx.missing_capabilities().front(),
                       now_ms, data);
      return;
    }
    std::vector<std::pair<std::string, std::string>> asks;
    for (auto& ask : ctx.pending()) {
      std::string r = R"({"method":)";
      append_quoted(r, ask.request.method());
      r += R"(,"params":)";
      r += ask.request.params_json();
      r += '}';
      asks.emplace_back(ask.key, std::move(r));
    }
    if (!task_table::need_input(t, std::move(asks), now_ms)) {
      ctx.finish();
      task_table::fail(t, errc::internal_error,
                       "the tool asked for input it had been given already",
                       now_ms);
    }
    return;
  }
  ctx.finish();
  auto result = encode_outcome(call);
  if (auto limit = srv.config().max_result_bytes; result.size() > limit) {
    task_table::fail(t, errc::internal_error,
                     "the result is too large to keep: "
                       + std::to_string(result.size())
                       + " bytes encoded, the limit is " + std::to_string(limit),
                     now_ms);
    return;
  }
  add_member(result, "resultType", R"("complete")");
  task_table::complete(t, std::move(result), now_ms);
}

std::shared_ptr<pending_call> rebuild_task_call(const server_context& srv,
                                                task& t, int64_t now_ms) {
  message msg;
  std::shared_ptr<pending_call> call;
  if (!decode(t.request, msg, srv.config().limits)) {
    msg.who = t.who;
    engine_output o;
    serve_stateless(srv, msg, nullptr, o);
    if (o.calls.size() == 1 && o.calls.front()->as_task())
      call = o.calls.front();
  }
  if (call == nullptr) {
    task_table::fail(t, errc::internal_error,
                     "the task could not be run again: its tool is no longer "
                     "available",
                     now_ms);
    return nullptr;
  }
  for (auto& [key, value] : t.answers)
    if (auto doc = parse_json(value))
      call->context().add_answer(key, *doc, false);
  return call;
}

std::optional<std::string> round_answer(const server_context& srv,
                                        pending_call& call) {
  if (call.deferred() || call.crashed() || needs_input(call))
    return std::nullopt;
  auto& ctx = call.context();
  scope s{srv, ctx.protocol_revision(), call.stateless(),
          &ctx.client_capabilities(), log_level::off, {}};
  engine_output out;
  complete_round(s, call, out);
  for (auto& m : out.messages)
    if (m.final)
      return std::move(m.json);
  return std::nullopt;
}

std::string listen_notification(const request_id& subscription,
                                std::string_view method,
                                std::string_view uri) {
  std::string params = R"({"_meta":{"io.modelcontextprotocol/subscriptionId":)";
  params += subscription.to_json();
  params += '}';
  if (!uri.empty()) {
    params += R"(,"uri":)";
    append_quoted(params, uri);
  }
  params += '}';
  return encode_notification(method, params);
}

std::string listen_closed(const request_id& subscription) {
  std::string result = R"({"resultType":"complete","_meta":{"io.modelcontextprotocol/subscriptionId":)";
  result += subscription.to_json();
  result += "}}";
  return encode_result(subscription, result);
}

outgoing decode_failure(const decode_error& err) {
  outgoing o;
  o.json = encode_error(err.id, err.code, err.message);
  o.kind = message_kind::error;
  o.stream = err.id;
  o.final = true;
  o.http_status = 400;
  return o;
}

} // namespace mcpvisor::protocol
