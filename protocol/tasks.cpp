#include "protocol/tasks.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "protocol/json.hpp"
#include "protocol/seal.hpp"

namespace mcpvisor::protocol {

std::string_view status_name(task_status s) noexcept {
  switch (s) {
    case task_status::working:
      return "working";
    case task_status::input_required:
      return "input_required";
    case task_status::completed:
      return "completed";
    case task_status::failed:
      return "failed";
    case task_status::cancelled:
      return "cancelled";
  }
  return "working";
}

// -- the table ----------------------------------------------------------------

task_table::created task_table::create(std::string owner, std::string tool,
                                       std::string request, bool replayable,
                                       int64_t now_ms) {
  expire(now_ms);
  created out;
  if (tasks_.size() >= limits_.max_tasks) {
    out.refusal = "too many tasks: the server keeps at most "
                  + std::to_string(limits_.max_tasks)
                  + "; retry when some have finished or expired";
    return out;
  }
  auto mine = static_cast<size_t>(std::count_if(
    tasks_.begin(), tasks_.end(), [&](auto& kv) { return kv.second->owner == owner; }));
  if (mine >= limits_.max_per_client) {
    out.refusal = "too many tasks for this client: at most "
                  + std::to_string(limits_.max_per_client)
                  + " are kept per client; cancel some or wait until they expire";
    return out;
  }
  auto t = std::make_unique<task>();
  auto secret = random_secret();
  t->id = id_prefix_ + base64url_encode({reinterpret_cast<const char*>(secret.data()), 16});
  t->created_ms = now_ms;
  t->updated_ms = now_ms;
  t->ttl_ms = limits_.ttl.count();
  t->poll_ms = limits_.poll_interval.count();
  t->owner = std::move(owner);
  t->tool = std::move(tool);
  t->request = std::move(request);
  t->replayable = replayable;
  out.t = t.get();
  auto id = t->id;
  tasks_.emplace(std::move(id), std::move(t));
  return out;
}

void task_table::set_node_tag(uint32_t tag) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%06x.", tag & 0xffffffu);
  id_prefix_ = buf;
}

std::optional<uint32_t> task_node_tag(std::string_view task_id) {
  // "xxxxxx." then the random part
  if (task_id.size() < 8 || task_id[6] != '.')
    return std::nullopt;
  uint32_t tag = 0;
  for (char c : task_id.substr(0, 6)) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0)
      return std::nullopt;
    tag = tag * 16 + static_cast<uint32_t>(v);
  }
  return tag;
}

task* task_table::find(std::string_view id, std::string_view owner,
                       int64_t now_ms) {
  expire(now_ms);
  auto* t = at(id);
  if (t == nullptr || t->owner != owner)
    return nullptr;
  return t;
}

task* task_table::at(std::string_view id) {
  auto it = tasks_.find(std::string{id});
  return it == tasks_.end() ? nullptr : it->second.get();
}

size_t task_table::expire(int64_t now_ms) {
  // one sweep per second at most: the table is scanned, not sorted
  if (now_ms - last_sweep_ms_ < 1000)
    return 0;
  last_sweep_ms_ = now_ms;
  size_t n = 0;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    auto& t = *it->second;
    if (now_ms < t.created_ms + t.ttl_ms) {
      ++it;
      continue;
    }
    if (!is_terminal(t.status) && t.stop)
      t.stop();
    it = tasks_.erase(it);
    ++n;
  }
  return n;
}

size_t task_table::active() const {
  return static_cast<size_t>(std::count_if(tasks_.begin(), tasks_.end(), [](auto& kv) {
    return !is_terminal(kv.second->status);
  }));
}

void task_table::for_each(const std::function<void(const task&)>& f) const {
  for (auto& [id, t] : tasks_)
    f(*t);
}

namespace {

/// Ends a task: its call and stop hook are no longer needed.
void settle(task& t, task_status s, int64_t now_ms) {
  t.status = s;
  t.updated_ms = now_ms;
  t.asks.clear();
  t.call.reset();
  t.stop = nullptr;
  t.runner.clear();
}

} // namespace

bool task_table::complete(task& t, std::string result_json, int64_t now_ms) {
  if (is_terminal(t.status))
    return false;
  t.result = std::move(result_json);
  settle(t, task_status::completed, now_ms);
  return true;
}

bool task_table::fail(task& t, int code, std::string_view message,
                      int64_t now_ms, std::string_view data_json) {
  if (is_terminal(t.status))
    return false;
  t.error = R"({"code":)" + std::to_string(code) + R"(,"message":)";
  append_quoted(t.error, message);
  if (!data_json.empty()) {
    t.error += R"(,"data":)";
    t.error += data_json;
  }
  t.error += '}';
  t.status_message = std::string{message};
  settle(t, task_status::failed, now_ms);
  return true;
}

bool task_table::need_input(task& t,
                            std::vector<std::pair<std::string, std::string>> asks,
                            int64_t now_ms) {
  if (is_terminal(t.status))
    return false;
  t.asks.clear();
  for (auto& a : asks) {
    if (t.answers.count(a.first) > 0)
      continue; // answered once: never asked again
    t.asks.push_back(std::move(a));
  }
  if (t.asks.empty())
    return false; // nothing new to ask: the caller fails the task
  t.status = task_status::input_required;
  t.updated_ms = now_ms;
  t.runner.clear();
  return true;
}

update_outcome task_table::answer(task& t,
                                  const std::vector<std::pair<std::string, std::string>>& answers,
                                  int64_t now_ms) {
  update_outcome out;
  if (t.status != task_status::input_required)
    return out;
  bool took = false;
  for (auto& answer : answers) {
    const auto& key = answer.first;
    auto it = std::find_if(t.asks.begin(), t.asks.end(),
                           [&](auto& a) { return a.first == key; });
    if (it == t.asks.end())
      continue; // not outstanding: ignored
    t.answers[key] = answer.second;
    t.asks.erase(it);
    took = true;
  }
  if (took)
    t.updated_ms = now_ms;
  if (t.asks.empty()) {
    t.status = task_status::working;
    out.resume = true;
  }
  return out;
}

void task_table::cancel(task& t, int64_t now_ms) {
  if (is_terminal(t.status))
    return;
  auto stop = std::move(t.stop);
  t.status_message = "cancelled by the client";
  settle(t, task_status::cancelled, now_ms);
  if (stop)
    stop();
}

void task_table::progress(task& t, std::string message, int64_t now_ms) {
  if (t.status != task_status::working)
    return;
  t.status_message = std::move(message);
  t.updated_ms = now_ms;
}

// -- encoding -----------------------------------------------------------------

namespace {

void task_fields(std::string& out, const task& t) {
  out += R"("taskId":)";
  append_quoted(out, t.id);
  out += R"(,"status":)";
  append_quoted(out, status_name(t.status));
  if (!t.status_message.empty()) {
    out += R"(,"statusMessage":)";
    append_quoted(out, t.status_message);
  }
  out += R"(,"createdAt":)";
  append_quoted(out, iso8601(t.created_ms));
  out += R"(,"lastUpdatedAt":)";
  append_quoted(out, iso8601(t.updated_ms));
  out += R"(,"ttlMs":)";
  out += t.ttl_ms > 0 ? std::to_string(t.ttl_ms) : std::string{"null"};
  if (t.poll_ms > 0) {
    out += R"(,"pollIntervalMs":)";
    out += std::to_string(t.poll_ms);
  }
}

} // namespace

std::string create_task_result(const task& t, std::string_view meta_json) {
  std::string out = R"({"resultType":"task",)";
  task_fields(out, t);
  out += R"(,"_meta":)";
  out += meta_json;
  out += '}';
  return out;
}

namespace {

/// What a task's status shows besides its fields.
void task_detail(std::string& out, const task& t) {
  switch (t.status) {
    case task_status::input_required:
      out += R"(,"inputRequests":{)";
      for (size_t i = 0; i < t.asks.size(); ++i) {
        if (i > 0)
          out += ',';
        append_quoted(out, t.asks[i].first);
        out += ':';
        out += t.asks[i].second;
      }
      out += '}';
      break;
    case task_status::completed:
      out += R"(,"result":)";
      out += t.result;
      break;
    case task_status::failed:
      out += R"(,"error":)";
      out += t.error;
      break;
    default:
      break;
  }
}

} // namespace

std::string get_task_result(const task& t, std::string_view meta_json) {
  std::string out = R"({"resultType":"complete",)";
  task_fields(out, t);
  task_detail(out, t);
  out += R"(,"_meta":)";
  out += meta_json;
  out += '}';
  return out;
}

std::string task_notification_params(const task& t) {
  std::string out = "{";
  task_fields(out, t);
  task_detail(out, t);
  out += '}';
  return out;
}

std::string task_ack(std::string_view meta_json) {
  std::string out = R"({"resultType":"complete","_meta":)";
  out += meta_json;
  out += '}';
  return out;
}

std::string tasks_required_data() {
  std::string out = R"({"requiredCapabilities":{"extensions":{)";
  append_quoted(out, tasks_extension);
  out += ":{}}}}";
  return out;
}

std::string iso8601(int64_t ms) {
  auto secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::optional<std::string> progress_text(std::string_view notification_json) {
  auto doc = parse_json(notification_json);
  if (!doc || as_string(find_member(&*doc, "method")) != "notifications/progress")
    return std::nullopt;
  auto* params = find_member(&*doc, "params");
  auto number = [](const json_value* v) {
    std::string out;
    if (v == nullptr || !v->IsNumber())
      return out;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", v->GetDouble());
    return out = buf;
  };
  auto text = number(find_member(params, "progress"));
  if (auto total = number(find_member(params, "total")); !total.empty())
    text += "/" + total;
  if (auto msg = as_string(find_member(params, "message")); msg && !msg->empty())
    text += text.empty() ? std::string{*msg} : ": " + std::string{*msg};
  return text;
}

bool declares_tasks(const json_value* caps) {
  auto* ext = find_member(caps, "extensions");
  auto* t = find_member(ext, tasks_extension);
  return t != nullptr && t->IsObject();
}

} // namespace mcpvisor::protocol
