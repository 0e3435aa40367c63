#include "protocol/call_context.hpp"

#include "protocol/engine.hpp"
#include "protocol/seal.hpp"

#include <algorithm>

namespace mcpvisor::protocol {

// -- log levels ---------------------------------------------------------------

std::string_view to_string(log_level lvl) noexcept {
  switch (lvl) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::notice: return "notice";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::critical: return "critical";
    case log_level::alert: return "alert";
    case log_level::emergency: return "emergency";
    case log_level::off: return "off";
  }
  return "off";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (int i = 0; i <= static_cast<int>(log_level::emergency); ++i) {
    auto lvl = static_cast<log_level>(i);
    if (to_string(lvl) == text)
      return lvl;
  }
  return std::nullopt;
}

// -- input_request ------------------------------------------------------------

input_request input_request::elicit_form(std::string_view message,
                                         std::string_view requested_schema_json) {
  // "mode":"form" is the default and unknown to clients before 2025-11-25
  std::string p = R"({"message":)";
  append_quoted(p, message);
  p += R"(,"requestedSchema":)";
  p += requested_schema_json;
  p += '}';
  return input_request{"elicitation/create", std::move(p)};
}

input_request input_request::elicit_url(std::string_view message,
                                        std::string_view url) {
  std::string p = R"({"mode":"url","message":)";
  append_quoted(p, message);
  p += R"(,"url":)";
  append_quoted(p, url);
  p += '}';
  return input_request{"elicitation/create", std::move(p), true};
}

input_request input_request::sample(std::string_view params_json) {
  return input_request{"sampling/createMessage", std::string{params_json}};
}

input_request input_request::sample_text(std::string_view prompt,
                                         int max_tokens) {
  std::string p
    = R"({"messages":[{"role":"user","content":{"type":"text","text":)";
  append_quoted(p, prompt);
  p += R"(}}],"maxTokens":)";
  p += std::to_string(max_tokens);
  p += '}';
  return input_request{"sampling/createMessage", std::move(p)};
}

input_request input_request::list_roots() {
  return input_request{"roots/list", "{}"};
}

std::optional<input_request> input_request::forward(std::string_view method,
                                                    std::string_view params_json) {
  if (method != "elicitation/create" && method != "sampling/createMessage"
      && method != "roots/list")
    return std::nullopt;
  auto doc = parse_json(params_json);
  bool url = doc && as_string(find_member(&*doc, "mode")) == std::string_view{"url"};
  return input_request{std::string{method},
                       params_json.empty() ? std::string{"{}"} : std::string{params_json},
                       url};
}

std::string_view input_request::capability() const noexcept {
  if (method_ == "sampling/createMessage")
    return "sampling";
  if (method_ == "roots/list")
    return "roots";
  return "elicitation";
}

// -- call_context -------------------------------------------------------------

call_context::call_context(revision rev, std::string name,
                           const json_value* arguments)
  : rev_(rev), name_(std::move(name)) {
  if (arguments != nullptr && arguments->IsObject())
    args_ = deep_copy(*arguments, arena_);
  else
    args_.SetObject();
  caps_.SetObject();
  answers_.SetObject();
  deadline_ = std::chrono::steady_clock::time_point::max();
}

std::string call_context::canonical_arguments() const {
  return canonical_json(args_);
}

call_context::~call_context() = default;

std::string_view call_context::arg_string(std::string_view key,
                                          std::string_view fallback) const {
  auto s = as_string(find_member(&args_, key));
  return s ? *s : fallback;
}

bool call_context::client_supports(std::string_view capability) const {
  return has_capability(caps_, capability);
}

bool has_capability(const json_value& caps, std::string_view capability) {
  const json_value* at = &caps;
  while (!capability.empty()) {
    auto dot = capability.find('.');
    auto head = capability.substr(0, dot);
    at = find_member(at, head);
    if (at == nullptr || at->IsNull() || (at->IsBool() && !at->GetBool()))
      return false;
    if (dot == std::string_view::npos)
      break;
    capability.remove_prefix(dot + 1);
  }
  return true;
}

void call_context::set_client_capabilities(const json_value& caps) {
  if (caps.IsObject())
    caps_ = deep_copy(caps, arena_);
}

void call_context::set_progress_token(std::optional<request_id> token) {
  progress_token_ = std::move(token);
}

void call_context::set_uri(std::string uri, uri_template::variables vars) {
  uri_ = std::move(uri);
  uri_vars_ = std::move(vars);
}

std::string elicitation_id(const request_id& call, std::string_view key) {
  return base64url_encode(sha256(call.to_json() + std::string{key})).substr(0, 22);
}

std::string call_context::elicitation_id(std::string_view key) const {
  auto call = call_.lock();
  return call != nullptr ? protocol::elicitation_id(call->id(), key) : std::string{};
}

void call_context::elicitation_complete(std::string_view key) {
  if (is_stateless(rev_) || call_.expired())
    return;
  std::string p = R"({"elicitationId":)";
  append_quoted(p, elicitation_id(key));
  p += '}';
  send(encode_notification("notifications/elicitation/complete", p));
}

void call_context::send(std::string json) {
  if (io_ != nullptr && !finished_.load(std::memory_order_acquire))
    io_->send(std::move(json));
}

void call_context::progress(double done, std::optional<double> total,
                            std::string_view message) {
  if (!progress_token_ || done <= last_progress_)
    return;
  last_progress_ = done;
  std::string p;
  string_sink sink{p};
  json_writer w{sink};
  w.StartObject();
  w.Key("progressToken");
  progress_token_->write(w);
  w.Key("progress");
  w.Double(done);
  if (total) {
    w.Key("total");
    w.Double(*total);
  }
  if (!message.empty()) {
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  }
  w.EndObject();
  send(encode_notification("notifications/progress", p));
}

void call_context::log(log_level lvl, std::string_view text,
                       std::string_view logger) {
  if (!logs(lvl) || lvl == log_level::off)
    return;
  std::string p = R"({"level":")";
  p += to_string(lvl);
  p += '"';
  if (!logger.empty()) {
    p += R"(,"logger":)";
    append_quoted(p, logger);
  }
  p += R"(,"data":)";
  append_quoted(p, text);
  p += '}';
  send(encode_notification("notifications/message", p));
}

bool call_context::cancelled() const noexcept {
  return finished_.load(std::memory_order_acquire)
         || (io_ != nullptr && io_->cancelled());
}

bool call_context::sleep_for(std::chrono::milliseconds d) {
  auto now = std::chrono::steady_clock::now();
  if (now >= deadline_)
    return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline_ - now);
  bool cut = left < d;
  if (io_ == nullptr)
    return !cut; // no runtime (unit tests): time does not pass
  return io_->wait(std::min(d, left)) && !cut;
}

std::optional<input_answer> call_context::ask(std::string_view key,
                                              const input_request& request) {
  if (auto* v = find_member(&answers_, key)) {
    if (std::find(used_keys_.begin(), used_keys_.end(), key) == used_keys_.end())
      used_keys_.emplace_back(key);
    bool is_error = std::find(error_keys_.begin(), error_keys_.end(), key)
                    != error_keys_.end();
    return is_error ? input_answer{nullptr, v} : input_answer{v, nullptr};
  }
  auto cap = request.capability();
  if (!client_supports(cap) || (request.is_url_elicitation()
                                && !client_supports("elicitation.url"))) {
    std::string missing{request.is_url_elicitation() ? "elicitation.url" : cap};
    if (std::find(missing_caps_.begin(), missing_caps_.end(), missing)
        == missing_caps_.end())
      missing_caps_.push_back(std::move(missing));
    return std::nullopt;
  }
  for (auto& p : pending_)
    if (p.key == key)
      return std::nullopt;
  pending_.push_back(pending_ask{std::string{key}, request});
  return std::nullopt;
}

const json_value* call_context::state() const noexcept {
  return state_text_.empty() ? nullptr : &state_doc_;
}

void call_context::set_state(std::string_view json) {
  state_text_ = std::string{json};
  state_doc_.Parse(state_text_.data(), state_text_.size());
  if (state_doc_.HasParseError()) {
    state_text_.clear();
    state_doc_.SetNull();
  }
}

void call_context::add_answer(std::string_view key, const json_value& value,
                              bool error) {
  auto& alloc = arena_;
  json_value k(key.data(), static_cast<rapidjson::SizeType>(key.size()), alloc);
  json_value v = deep_copy(value, alloc);
  auto existing = answers_.FindMember(k);
  if (existing != answers_.MemberEnd())
    existing->value = v;
  else
    answers_.AddMember(k, v, alloc);
  error_keys_.erase(std::remove(error_keys_.begin(), error_keys_.end(), key),
                    error_keys_.end());
  if (error)
    error_keys_.emplace_back(key);
}

void call_context::begin_round() {
  pending_.clear();
  missing_caps_.clear();
  used_keys_.clear();
}

std::string call_context::used_answers_json() const {
  std::string out = "{";
  bool first = true;
  for (auto& key : used_keys_) {
    auto* v = find_member(&answers_, key);
    if (v == nullptr || std::find(error_keys_.begin(), error_keys_.end(), key)
                          != error_keys_.end())
      continue;
    if (!first)
      out += ',';
    first = false;
    append_quoted(out, key);
    out += ':';
    append_json(out, *v);
  }
  out += '}';
  return out;
}

const std::string& call_context::subject() const {
  static const std::string none;
  return who_ != nullptr ? who_->subject : none;
}

const std::vector<std::string>& call_context::scopes() const {
  static const std::vector<std::string> none;
  return who_ != nullptr ? who_->scopes : none;
}

bool call_context::has_scope(std::string_view scope) const {
  return who_ != nullptr && who_->has_scope(scope);
}

} // namespace mcpvisor::protocol
