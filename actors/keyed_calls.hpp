#pragma once

#include <string>

#include "actors/channel.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"

/// Idempotency keys in the runtime (protocol/idempotency.hpp): the check a
/// session or stateless actor makes before it starts a keyed tools/call.
namespace mcpvisor::actors {

enum class keyed_start {
  /// Start the call: its answer is stored under its key when it ends (on
  /// the thread that ends it, so a crash of the actor loses nothing).
  run,
  /// Do not start it: send `answer` instead (the stored answer, or an
  /// error).
  answered,
  /// A run with the key is in progress: ask again a little later.
  wait,
};

/// Decides for a call with an idempotency key; `answer` is set when the
/// call is answered without running.
keyed_start start_keyed(runtime& rt, const call_ptr& call, reply& answer);

/// For request `in` whose call must wait: false once it has waited as long
/// as the call may take (its deadline), `answer` then says so.
bool may_wait(inbound& in, const call_ptr& call, reply& answer);

/// Stores `answer` under the key of `call` (a task's CreateTaskResult).
void finish_keyed(runtime& rt, const call_ptr& call, std::string answer);

/// The run under `key` (a call's idempotency_key()) ended without an
/// answer, or was refused before it started: a retry runs it. Nothing
/// happens to a key whose answer is stored.
void forget_keyed(runtime& rt, const std::string& key);

/// How long an actor waits before asking again about a key in progress.
constexpr std::chrono::milliseconds keyed_poll{50};

} // namespace mcpvisor::actors
