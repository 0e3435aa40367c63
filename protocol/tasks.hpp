#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/jsonrpc.hpp"

/// The tasks extension (io.modelcontextprotocol/tasks) for 2026-07-28
/// requests: a tools/call answered with a task that the client polls
/// (tasks/get), answers input requests of (tasks/update) and cancels
/// (tasks/cancel). This file holds the rules: the table of tasks, every
/// state transition, limits and expiry, and the encoding of results. The
/// runtime (actors/) runs the handler rounds and keeps the table behind a
/// lock; nothing here does I/O or touches a thread.
namespace mcpvisor::protocol {

class pending_call;
struct principal;

/// The extension's key in capabilities and in errors' requiredCapabilities.
constexpr std::string_view tasks_extension = "io.modelcontextprotocol/tasks";

enum class task_status : uint8_t { working, input_required, completed, failed, cancelled };

std::string_view status_name(task_status s) noexcept;

constexpr bool is_terminal(task_status s) noexcept {
  return s == task_status::completed || s == task_status::failed
         || s == task_status::cancelled;
}

struct task_limits {
  /// How long a task stays readable after it was created; a task still
  /// running then is cancelled and forgotten.
  std::chrono::milliseconds ttl{std::chrono::hours{1}};
  /// The poll interval suggested to clients.
  std::chrono::milliseconds poll_interval{std::chrono::milliseconds{500}};
  /// Tasks kept (running or finished, not yet expired) at most.
  size_t max_tasks = 10000;
  /// Tasks one client (one token subject; all clients without a token
  /// together) may keep at most.
  size_t max_per_client = 1000;
};

/// One task. Times are milliseconds since the Unix epoch.
struct task {
  std::string id;
  task_status status = task_status::working;
  std::string status_message;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t ttl_ms = 0;
  int64_t poll_ms = 0;
  /// Whose task it is: the token's subject, or empty without a token.
  std::string owner;
  std::shared_ptr<const principal> who;
  std::string tool;
  /// The tools/call request that created it (encoded), to run it again
  /// after a crash of the actor running it.
  std::string request;
  /// Read-only or idempotent: runs again after such a crash.
  bool replayable = false;
  /// Completed: the encoded CallToolResult. Failed: the encoded error
  /// object ({code, message[, data]}).
  std::string result;
  std::string error;
  /// Input requests the client has not answered yet: key → encoded
  /// {"method":...,"params":...}, in the order they were asked.
  std::vector<std::pair<std::string, std::string>> asks;
  /// Every answer given through tasks/update (key → encoded result), kept
  /// so that a run after a crash does not ask again.
  std::map<std::string, std::string> answers;
  /// The call whose rounds do the work, while the task runs or waits for
  /// input, and how to stop its round in flight (set by the runtime).
  std::shared_ptr<pending_call> call;
  std::function<void()> stop;
  /// Rounds run so far, and runs (1 + runs after crashes).
  unsigned rounds = 0;
  unsigned runs = 1;
  /// Opaque name of what runs the task now (the runtime's actor), for the
  /// admin view; empty while it waits for input.
  std::string runner;
  /// The status last announced by notifications/tasks.
  task_status announced = task_status::working;
};

/// What tasks/update did.
struct update_outcome {
  /// All outstanding input is answered: run the next round.
  bool resume = false;
};

/// The tasks of one server, by id.
class task_table {
public:
  explicit task_table(task_limits limits = {}) : limits_(limits) {
    // nop
  }

  const task_limits& limits() const noexcept {
    return limits_;
  }

  /// In a cluster, ids start with the node's tag (see `task_node_tag`).
  void set_node_tag(uint32_t tag);

  /// A new working task, or the text of the limit that stops it.
  struct created {
    task* t = nullptr;
    std::string refusal;
  };
  created create(std::string owner, std::string tool, std::string request,
                 bool replayable, int64_t now_ms);

  /// The task `id` if it exists, has not expired, and belongs to `owner`
  /// (another client's task is reported as unknown).
  task* find(std::string_view id, std::string_view owner, int64_t now_ms);

  /// Any task by id, whoever owns it (the runtime's own bookkeeping).
  task* at(std::string_view id);

  /// Forgets tasks past their TTL; a running one is stopped first.
  /// Returns how many were dropped.
  size_t expire(int64_t now_ms);

  size_t size() const noexcept {
    return tasks_.size();
  }

  /// Tasks not yet terminal.
  size_t active() const;

  void for_each(const std::function<void(const task&)>& f) const;

  // -- transitions (false: not allowed from the task's status) ----------------

  /// A round ended with the handler's result (also a tool error).
  static bool complete(task& t, std::string result_json, int64_t now_ms);

  /// A round failed (a handler exception, a timeout, a crash).
  static bool fail(task& t, int code, std::string_view message, int64_t now_ms,
                   std::string_view data_json = {});

  /// A round ended asking for input: `asks` are (key, encoded request).
  /// Keys already answered are dropped (a key is answered once); false if
  /// nothing is left to ask.
  static bool need_input(task& t,
                         std::vector<std::pair<std::string, std::string>> asks,
                         int64_t now_ms);

  /// tasks/update: answers for outstanding keys are taken, others are
  /// ignored. Resumes (status working) when nothing is outstanding.
  /// `answers` are (key, encoded result).
  static update_outcome answer(task& t,
                               const std::vector<std::pair<std::string, std::string>>& answers,
                               int64_t now_ms);

  /// tasks/cancel: a task not yet terminal ends cancelled and its round in
  /// flight is told to stop; a terminal one stays as it is.
  static void cancel(task& t, int64_t now_ms);

  /// A progress report of the running round becomes the status message.
  static void progress(task& t, std::string message, int64_t now_ms);

private:
  task_limits limits_;
  std::string id_prefix_;
  std::unordered_map<std::string, std::unique_ptr<task>> tasks_;
  int64_t last_sweep_ms_ = 0;
};

// -- encoding -----------------------------------------------------------------

/// CreateTaskResult: the task's fields and resultType "task". `meta_json`
/// is the server's result `_meta`.
std::string create_task_result(const task& t, std::string_view meta_json);

/// GetTaskResult: the task's fields, and its result, error or input
/// requests as its status has them.
std::string get_task_result(const task& t, std::string_view meta_json);

/// The params of notifications/tasks for `t` (its fields and result, error
/// or input requests), without `_meta`.
std::string task_notification_params(const task& t);

/// The empty acknowledgement of tasks/update and tasks/cancel.
std::string task_ack(std::string_view meta_json);

/// The -32021 data naming the extension.
std::string tasks_required_data();

/// The node tag a task id starts with (a cluster node's), if any.
std::optional<uint32_t> task_node_tag(std::string_view task_id);

/// ISO 8601 UTC text of a Unix time in milliseconds.
std::string iso8601(int64_t ms);

/// Milliseconds since the Unix epoch, now.
int64_t unix_ms();

/// The status message a notifications/progress (encoded) of a task's
/// round stands for ("3/10: copying"), or nullopt if it is none.
std::optional<std::string> progress_text(std::string_view notification_json);

/// Whether client capabilities (a 2026-07-28 request's
/// clientCapabilities) declare the extension.
bool declares_tasks(const json_value* caps);

} // namespace mcpvisor::protocol
