#include "tests/support/http_client.hpp"

#include <cctype>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mcpvisor::test {

using clock_type = std::chrono::steady_clock;

namespace {

int left_ms(clock_type::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - clock_type::now())
              .count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

http_client::http_client(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

http_client::~http_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool http_client::send_raw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool http_client::send_within(const std::string& bytes,
                              std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  size_t off = 0;
  while (off < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0 || (p.revents & (POLLERR | POLLHUP)) != 0)
      return false;
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool http_client::fill(clock_type::time_point deadline) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, left_ms(deadline)) <= 0)
    return false;
  char tmp[16384];
  auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
  if (n <= 0)
    return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> http_client::read_line(clock_type::time_point deadline) {
  for (;;) {
    auto pos = buf_.find("\r\n");
    if (pos != std::string::npos) {
      auto line = buf_.substr(0, pos);
      buf_.erase(0, pos + 2);
      return line;
    }
    if (!fill(deadline))
      return std::nullopt;
  }
}

std::optional<std::string> http_client::read_chunk(clock_type::time_point deadline) {
  auto size_line = read_line(deadline);
  if (!size_line)
    return std::nullopt;
  size_t size = std::stoul(*size_line, nullptr, 16);
  while (buf_.size() < size + 2)
    if (!fill(deadline))
      return std::nullopt;
  auto data = buf_.substr(0, size);
  buf_.erase(0, size + 2);
  if (size == 0)
    chunked_stream_ = false;
  return data;
}

std::optional<http_response> http_client::read_head(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  auto status = read_line(deadline);
  if (!status || status->size() < 12)
    return std::nullopt;
  http_response r;
  r.status = std::stoi(status->substr(9, 3));
  for (;;) {
    auto line = read_line(deadline);
    if (!line)
      return std::nullopt;
    if (line->empty())
      break;
    auto colon = line->find(':');
    if (colon == std::string::npos)
      continue;
    auto value = line->substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    r.headers[lower(line->substr(0, colon))] = value;
  }
  chunked_stream_ = lower(r.header("transfer-encoding")) == "chunked";
  return r;
}

std::optional<http_response> http_client::read_response(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  auto r = read_head(timeout);
  if (!r)
    return std::nullopt;
  if (chunked_stream_) {
    for (;;) {
      auto c = read_chunk(deadline);
      if (!c)
        return std::nullopt;
      if (c->empty())
        break;
      r->body += *c;
    }
    return r;
  }
  auto len = r->header("content-length");
  size_t n = len.empty() ? 0 : std::stoul(len);
  while (buf_.size() < n)
    if (!fill(deadline))
      return std::nullopt;
  r->body = buf_.substr(0, n);
  buf_.erase(0, n);
  return r;
}

std::vector<std::string> http_client::read_events(size_t count,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  std::vector<std::string> events;
  while (events.size() < count) {
    auto end = sse_pending_.find("\n\n");
    if (end != std::string::npos) {
      auto e = sse_pending_.substr(0, end);
      sse_pending_.erase(0, end + 2);
      if (!e.empty() && e[0] != ':')
        events.push_back(e);
      continue;
    }
    if (!chunked_stream_)
      break;
    auto c = read_chunk(deadline);
    if (!c)
      break;
    sse_pending_ += *c;
  }
  return events;
}

bool http_client::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0)
      return false;
    char tmp[4096];
    auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0)
      return true;
  }
}

std::string http_client::post(const std::string& body, const std::string& extra,
                              const std::string& host) {
  return "POST /mcp HTTP/1.1\r\nHost: " + host
         + "\r\nContent-Type: application/json\r\nAccept: application/json, "
           "text/event-stream\r\n"
         + extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"
         + body;
}

} // namespace mcpvisor::test
