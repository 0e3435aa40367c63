#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace mcpvisor::test {

/// A child process with its stdin, stdout and stderr on pipes. Used by the
/// integration tests to run the real `mcpvisor` binary. Kills the process
/// (SIGKILL) on destruction if it still runs.
class process {
public:
  /// Starts `argv[0]` with the given arguments.
  explicit process(std::vector<std::string> argv);
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept {
    return pid_;
  }

  /// Reads stderr until a line contains `needle` or `timeout` passes.
  /// Returns the line.
  std::optional<std::string> wait_stderr(const std::string& needle,
                                         std::chrono::milliseconds timeout);

  /// Everything read from stderr so far (including what wait_stderr saw).
  std::string stderr_text() const;

  /// Writes to the child's stdin.
  bool write_stdin(const std::string& data);

  /// Closes the child's stdin (EOF).
  void close_stdin();

  /// Reads one line from stdout (without the newline) or nullopt on
  /// timeout or EOF.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout);

  /// All of stdout until EOF or `timeout`.
  std::string drain_stdout(std::chrono::milliseconds timeout);

  void signal(int sig);

  /// Waits for the exit; returns the exit status, 128+signal if killed by a
  /// signal, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int errfd_ = -1;
  /// stderr is read all the time by a thread of its own, so that a child
  /// that logs a lot never blocks on a full pipe.
  mutable std::mutex err_mtx_;
  std::condition_variable err_cv_;
  std::string err_;
  bool err_eof_ = false;
  size_t err_scanned_ = 0;
  std::atomic<bool> err_stop_{false};
  std::thread err_reader_;
  std::string out_buf_;
  std::optional<int> status_;
};

/// Path of the binary under test: $MCPVISOR_BIN, or build/actors/mcpvisor.
std::string mcpvisor_binary();

/// Path of the load generator: $MCPVISOR_LOAD, or loadtest/mcpvisor-load
/// next to the binary under test.
std::string load_binary();

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

} // namespace mcpvisor::test
