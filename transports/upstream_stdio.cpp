#include "transports/upstream_stdio.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/log.hpp"
#include "transports/line_splitter.hpp"

extern char** environ;

namespace mcpvisor::transports {

namespace {

using clock_type = std::chrono::steady_clock;

/// Lines of stderr kept for the admin view, and written to the log per
/// second at most (the rest are counted and said once).
constexpr size_t tail_lines = 20;
constexpr int log_lines_per_second = 20;

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

/// Waits up to `timeout` for `pid` to exit and reaps it; its wait status,
/// or nullopt if it still runs.
std::optional<int> reap_within(pid_t pid, int pidfd, std::chrono::milliseconds timeout) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int ms = static_cast<int>(timeout.count());
    while (::poll(&p, 1, ms) < 0 && errno == EINTR)
      ; // nop
  }
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid)
    return status;
  return std::nullopt;
}

std::string exit_text(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " ("
           + ::strsignal(WTERMSIG(status)) + ")";
  return "ended";
}

class stdio_link : public actors::upstream_link {
public:
  stdio_link(const actors::upstream_config& cfg, size_t index)
    : cfg_(cfg), label_(cfg.name + "/" + std::to_string(index)) {
    // nop
  }

  ~stdio_link() override {
    stop();
  }

  std::optional<std::string> start(message_handler on_message,
                                   close_handler on_closed) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    if (cfg_.command.empty())
      return "no command to run";
    int in[2];
    int out[2];
    int err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0
        || ::pipe2(err, O_CLOEXEC) != 0)
      return std::string{"cannot make pipes: "} + std::strerror(errno);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    // nothing of ours leaks into the child (our sockets are not all
    // close-on-exec)
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!cfg_.cwd.empty())
      posix_spawn_file_actions_addchdir_np(&fa, cfg_.cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // a process group of its own (stopped as a whole), the default
    // disposition of the signals we ignore or block, and no blocked signals
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGUSR1, SIGCHLD})
      sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                      | POSIX_SPAWN_SETSIGDEF);
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv{*e};
      auto key = kv.substr(0, kv.find('='));
      if (cfg_.env.count(std::string{key}) == 0)
        env_store.emplace_back(kv);
    }
    for (auto& [k, v] : cfg_.env)
      env_store.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_store)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    auto args = cfg_.command;
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawnp(&pid_, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(in[1]);
      ::close(out[0]);
      ::close(err[0]);
      pid_ = -1;
      return "cannot start '" + cfg_.command[0] + "': " + std::strerror(rc);
    }
    pidfd_ = pidfd_open(pid_);
    stdin_ = in[1];
    ::fcntl(stdin_, F_SETFL, ::fcntl(stdin_, F_GETFL) | O_NONBLOCK);
    stdout_ = out[0];
    stderr_ = err[0];
    running_ = true;
    reader_ = std::thread{[this] { read_stdout(); }};
    errors_ = std::thread{[this] { read_stderr(); }};
    writer_ = std::thread{[this] { write_stdin(); }};
    return std::nullopt;
  }

  void send(std::string json) override {
    json += '\n';
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!running_)
        return;
      // the common case: nothing waits, and the pipe takes it at once
      // (stdin is non-blocking on our side); the writer thread writes what
      // is left, and what an error leaves (it says why the link ended)
      size_t done = 0;
      if (queue_.empty() && !writing_)
        while (done < json.size()) {
          auto n = ::write(stdin_, json.data() + done, json.size() - done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          done += static_cast<size_t>(n);
        }
      if (done == json.size())
        return;
      queue_.push_back(json.substr(done));
    }
    cv_.notify_one();
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return;
      stopped_ = true;
      running_ = false;
      closing_ = true; // no handler is called from now on
    }
    cv_.notify_all();
    if (pid_ > 0) {
      // the whole group: what the server itself started goes too
      ::kill(-pid_, SIGTERM);
      if (!reaped_.load() && !reap_within(pid_, pidfd_, cfg_.kill_grace)) {
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
      } else {
        ::kill(-pid_, SIGKILL); // whatever of the group is left
      }
    }
    // the group is gone, so every pipe end of the child is closed and the
    // readers see EOF
    if (stdin_ >= 0)
      ::close(stdin_);
    stdin_ = -1;
    for (auto* t : {&writer_, &reader_, &errors_})
      if (t->joinable())
        t->join();
    for (int* fd : {&stdout_, &stderr_, &pidfd_})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
  }

  actors::link_info info() const override {
    actors::link_info i;
    i.pid = pid_;
    std::lock_guard<std::mutex> guard{mtx_};
    i.stderr_tail.assign(tail_.begin(), tail_.end());
    return i;
  }

private:
  /// Says once why the link ended, unless it is being stopped.
  void closed(std::string why) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (closing_)
        return;
      closing_ = true;
      running_ = false;
    }
    cv_.notify_all();
    on_closed_(std::move(why));
  }

  void read_stdout() {
    line_splitter lines{cfg_.max_message_bytes};
    bool too_long = false;
    char buf[65536];
    while (!too_long) {
      auto n = ::read(stdout_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      lines.feed(
        buf, static_cast<size_t>(n),
        [&](std::string text) {
          if (!too_long && !closing())
            on_message_(std::move(text));
        },
        [&] { too_long = true; });
    }
    if (too_long) {
      closed("it wrote a message larger than " + std::to_string(cfg_.max_message_bytes)
             + " bytes");
      return;
    }
    // EOF: the process closed its stdout, or ended
    std::string why = "it closed its stdout";
    if (auto status = reap_within(pid_, pidfd_, std::chrono::milliseconds{200})) {
      reaped_ = true; // stop() must not wait for it again
      why = "it " + exit_text(*status);
    }
    closed(std::move(why));
  }

  void read_stderr() {
    std::string pending;
    char buf[8192];
    auto window = clock_type::now();
    int logged = 0;
    size_t dropped = 0;
    auto line = [&](std::string text) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        tail_.push_back(text);
        while (tail_.size() > tail_lines)
          tail_.pop_front();
      }
      auto now = clock_type::now();
      if (now - window >= std::chrono::seconds{1}) {
        if (dropped > 0)
          log::warn("upstream stderr lines not logged",
                    {{"upstream", label_}, {"lines", std::to_string(dropped)}});
        window = now;
        logged = 0;
        dropped = 0;
      }
      if (logged++ < log_lines_per_second)
        log::info("upstream stderr", {{"upstream", label_}, {"line", text}});
      else
        ++dropped;
    };
    for (;;) {
      auto n = ::read(stderr_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
          line(std::move(pending));
          pending.clear();
        } else if (pending.size() < 4096) {
          pending += buf[i];
        }
      }
    }
    if (!pending.empty())
      line(std::move(pending));
  }

  void write_stdin() {
    for (;;) {
      std::string next;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        writing_ = false;
        cv_.wait(lock, [this] { return !queue_.empty() || !running_; });
        if (queue_.empty())
          return;
        next = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
      }
      size_t done = 0;
      while (done < next.size()) {
        auto n = ::write(stdin_, next.data() + done, next.size() - done);
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0 && errno == EAGAIN) {
          // the process reads slower than we write: wait until it can
          // take more (or the link stops)
          pollfd p{stdin_, POLLOUT, 0};
          ::poll(&p, 1, 200);
          if (!running())
            return;
          continue;
        }
        if (n <= 0) {
          closed("it closed its stdin");
          return;
        }
        done += static_cast<size_t>(n);
      }
    }
  }

  bool running() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return running_;
  }

  bool closing() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return closing_;
  }

  actors::upstream_config cfg_;
  std::string label_;
  message_handler on_message_;
  close_handler on_closed_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::deque<std::string> tail_;
  bool running_ = false;
  /// The writer thread writes a message outside the lock.
  bool writing_ = false;
  bool closing_ = false;
  bool stopped_ = false;
  std::atomic<bool> reaped_{false};
  std::thread reader_;
  std::thread errors_;
  std::thread writer_;
};

} // namespace

std::unique_ptr<actors::upstream_link> make_stdio_link(const actors::upstream_config& cfg,
                                                       size_t index) {
  return std::make_unique<stdio_link>(cfg, index);
}

} // namespace mcpvisor::transports
