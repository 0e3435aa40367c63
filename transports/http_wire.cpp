#include "transports/http_wire.hpp"

#include <cstdio>

#include <ostream>

#include <boost/beast/http/status.hpp>

namespace mcpvisor::transports::wire {

namespace {

void append_hex(std::string& out, size_t n) {
  char buf[20];
  auto len = std::snprintf(buf, sizeof(buf), "%zx", n);
  out.append(buf, static_cast<size_t>(len));
}

void status_line(std::string& out, int status) {
  auto phrase = boost::beast::http::obsolete_reason(
    static_cast<boost::beast::http::status>(status));
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out.append(phrase.data(), phrase.size());
  out += "\r\n";
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

} // namespace

std::string response(int status, std::string_view content_type,
                     std::string_view body, bool keep_alive,
                     std::initializer_list<header> headers) {
  std::string out;
  out.reserve(160 + body.size());
  status_line(out, status);
  if (!content_type.empty())
    field(out, "Content-Type", content_type);
  for (auto& [name, value] : headers)
    if (!value.empty())
      field(out, name, value);
  if (status == 503)
    field(out, "Retry-After", "1");
  field(out, "Content-Length", std::to_string(body.size()));
  field(out, "Connection", keep_alive ? "keep-alive" : "close");
  out += "\r\n";
  out += body;
  return out;
}

std::string event_stream_head(bool keep_alive) {
  std::string out;
  status_line(out, 200);
  out += "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
         "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n";
  field(out, "Connection", keep_alive ? "keep-alive" : "close");
  out += "\r\n";
  return out;
}

std::string chunk(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 24);
  append_hex(out, payload.size());
  out += "\r\n";
  out += payload;
  out += "\r\n";
  return out;
}

std::string named_event_chunk(std::string_view name, std::string_view data) {
  return chunk("event: " + std::string{name} + "\ndata: " + std::string{data} + "\n\n");
}

std::string event_chunk(std::string_view id, std::string_view data) {
  constexpr std::string_view kind = "event: message\ndata: ";
  size_t size = (id.empty() ? 0 : 5 + id.size()) + kind.size() + data.size() + 2;
  std::string out;
  out.reserve(size + 24);
  append_hex(out, size);
  out += "\r\n";
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += kind;
  out += data;
  out += "\n\n\r\n";
  return out;
}

std::string prime_chunk(std::string_view id, int retry_ms) {
  return chunk("id: " + std::string{id} + "\nretry: " + std::to_string(retry_ms)
               + "\ndata: \n\n");
}

std::string keepalive_chunk() {
  return chunk(": keep-alive\n\n");
}

} // namespace mcpvisor::transports::wire
