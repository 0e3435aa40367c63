#include "actors/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fcntl.h>
#include <unistd.h>

#include "protocol/json.hpp"

namespace mcpvisor::log {

namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};
std::atomic<int> out_fd{STDERR_FILENO};

const char* name(level lvl) {
  switch (lvl) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
  }
  return "info";
}

void timestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

} // namespace

void set_level(level lvl) noexcept {
  min_level.store(static_cast<int>(lvl), std::memory_order_relaxed);
}

bool set_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  out_fd.store(fd, std::memory_order_relaxed);
  return true;
}

bool enabled(level lvl) noexcept {
  return static_cast<int>(lvl) >= min_level.load(std::memory_order_relaxed);
}

void write(level lvl, std::string_view msg,
           std::initializer_list<field> fields) {
  if (!enabled(lvl))
    return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  timestamp(line);
  line += "\",\"level\":\"";
  line += name(lvl);
  line += "\",\"msg\":";
  protocol::append_quoted(line, msg);
  for (const auto& [key, value] : fields) {
    line += ',';
    protocol::append_quoted(line, key);
    line += ':';
    protocol::append_quoted(line, value);
  }
  line += "}\n";
  auto fd = out_fd.load(std::memory_order_relaxed);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n <= 0)
      return; // nowhere to report a failing log
    p += n;
    left -= static_cast<size_t>(n);
  }
}

} // namespace mcpvisor::log
