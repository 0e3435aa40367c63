#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

/// Idempotency keys for tools/call, an mcpvisor extension: a call whose
/// `_meta` carries `dev.mcpvisor/idempotencyKey` runs at most once per key
/// within its scope (a session, or a client of stateless requests); a
/// retry gets the stored answer, or waits for the run in progress. The
/// table here holds the rules; the runtime keeps it outside the actors, so
/// it survives their crashes, and behind a lock.
namespace mcpvisor::protocol {

constexpr std::string_view idempotency_meta_key = "dev.mcpvisor/idempotencyKey";

/// Longest key accepted.
constexpr size_t max_idempotency_key = 255;

struct idempotency_limits {
  /// How long a key and its answer are kept after the key was first used.
  std::chrono::milliseconds ttl{std::chrono::hours{1}};
  /// Keys kept at most; the oldest finished one makes room for a new one.
  size_t max_keys = 100000;
};

class idempotency_table {
public:
  explicit idempotency_table(idempotency_limits limits = {}) : limits_(limits) {
    // nop
  }

  enum class verdict : uint8_t {
    /// First use: run the call, then `finish` the key.
    run,
    /// A run with this key is in progress: ask again later.
    wait,
    /// The key's run has finished: answer with `answer`.
    replay,
    /// The key was used for a different call (tool or arguments).
    conflict,
    /// The table is full of runs in progress.
    full,
  };

  struct seen {
    verdict v = verdict::run;
    /// replay: the stored answer, a JSON-RPC response of the first request.
    std::string answer;
  };

  /// A call with `key` (scope and key) and `digest` (what the call is).
  seen begin(const std::string& key, std::string_view digest, int64_t now_ms);

  /// The run of `key` ended with `answer` (the encoded JSON-RPC response).
  void finish(const std::string& key, std::string answer, int64_t now_ms);

  /// The run of `key` did not happen after all (refused before it started):
  /// a retry runs it.
  void forget(const std::string& key);

  size_t size() const noexcept {
    return entries_.size();
  }

  size_t expire(int64_t now_ms);

private:
  struct entry {
    std::string digest;
    std::string answer;
    bool done = false;
    int64_t created_ms = 0;
  };

  idempotency_limits limits_;
  std::unordered_map<std::string, entry> entries_;
  int64_t last_sweep_ms_ = 0;
};

/// The stored answer `answer` (a JSON-RPC response) as the answer to request
/// `id`.
std::string answer_again(std::string_view answer, std::string_view id_json);

} // namespace mcpvisor::protocol
