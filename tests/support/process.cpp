#include "tests/support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mcpvisor::test {

namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - clock_type::now())
                .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

} // namespace

process::process(std::vector<std::string> argv) {
  // a write to a child that died must fail with EPIPE, not end the tests
  std::signal(SIGPIPE, SIG_IGN);
  int in[2];
  int out[2];
  int err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0
      || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_ = in[1];
  out_ = out[0];
  errfd_ = err[0];
  if (rc != 0)
    throw std::runtime_error("cannot start " + argv[0] + ": "
                             + std::strerror(rc));
  err_reader_ = std::thread{[this] {
    char buf[4096];
    while (!err_stop_.load()) {
      pollfd p{errfd_, POLLIN, 0};
      if (poll(&p, 1, 100) == 0)
        continue;
      auto n = read(errfd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      std::lock_guard<std::mutex> guard{err_mtx_};
      if (n <= 0) {
        err_eof_ = true;
        err_cv_.notify_all();
        return;
      }
      err_.append(buf, static_cast<size_t>(n));
      err_cv_.notify_all();
    }
  }};
}

process::~process() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds{10});
  }
  err_stop_ = true;
  if (err_reader_.joinable())
    err_reader_.join();
  for (int fd : {in_, out_, errfd_})
    if (fd >= 0)
      close(fd);
}

std::string process::stderr_text() const {
  std::lock_guard<std::mutex> guard{err_mtx_};
  return err_;
}

std::optional<std::string>
process::wait_stderr(const std::string& needle,
                     std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  std::unique_lock<std::mutex> guard{err_mtx_};
  for (;;) {
    // look for a complete line that contains the needle
    size_t pos = err_scanned_;
    for (;;) {
      auto nl = err_.find('\n', pos);
      if (nl == std::string::npos)
        break;
      auto line = err_.substr(pos, nl - pos);
      pos = nl + 1;
      err_scanned_ = pos;
      if (line.find(needle) != std::string::npos)
        return line;
    }
    if (err_eof_ || clock_type::now() >= deadline)
      return std::nullopt;
    err_cv_.wait_until(guard, deadline);
  }
}

bool process::write_stdin(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    auto n = write(in_, data.data() + off, data.size() - off);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void process::close_stdin() {
  if (in_ >= 0) {
    close(in_);
    in_ = -1;
  }
}

std::optional<std::string>
process::read_stdout_line(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      auto line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0)
      return std::nullopt;
    char buf[65536];
    auto n = read(out_, buf, sizeof(buf));
    if (n <= 0)
      return std::nullopt;
    out_buf_.append(buf, static_cast<size_t>(n));
  }
}

std::string process::drain_stdout(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  std::string res = std::move(out_buf_);
  out_buf_.clear();
  for (;;) {
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0)
      return res;
    char buf[65536];
    auto n = read(out_, buf, sizeof(buf));
    if (n <= 0)
      return res;
    res.append(buf, static_cast<size_t>(n));
  }
}

void process::signal(int sig) {
  if (!status_)
    kill(pid_, sig);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
  if (status_)
    return status_;
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    int st = 0;
    auto r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (remaining_ms(deadline) == 0)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

std::string mcpvisor_binary() {
  if (const char* p = std::getenv("MCPVISOR_BIN"))
    return p;
  return "build/mcpvisor";
}

std::string load_binary() {
  if (const char* p = std::getenv("MCPVISOR_LOAD"))
    return p;
  auto bin = mcpvisor_binary();
  auto slash = bin.rfind('/');
  return (slash == std::string::npos ? std::string{"."} : bin.substr(0, slash))
         + "/loadtest/mcpvisor-load";
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

} // namespace mcpvisor::test
