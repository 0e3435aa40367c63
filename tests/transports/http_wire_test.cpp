#include <doctest/doctest.h>

#include <string>

#include "transports/http_wire.hpp"

using namespace mcpvisor::transports;

TEST_SUITE("http wire") {

TEST_CASE("a whole response: status line with Beast's reason, length, "
          "connection") {
  auto r = wire::response(200, "application/json", "{}", true,
                          {{"Mcp-Session-Id", "abc"}, {"Allow", ""}});
  CHECK(r == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Mcp-Session-Id: abc\r\nContent-Length: 2\r\n"
             "Connection: keep-alive\r\n\r\n{}");
  auto gone = wire::response(404, "application/json", "x", false);
  CHECK(gone.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(gone.find("Connection: close\r\n") != std::string::npos);
  auto accepted = wire::response(202, {}, {}, true);
  CHECK(accepted.find("Content-Type") == std::string::npos);
  CHECK(accepted.find("Content-Length: 0\r\n") != std::string::npos);
  auto busy = wire::response(503, "application/json", "{}", true);
  CHECK(busy.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(busy.find("Retry-After: 1\r\n") != std::string::npos);
  CHECK(wire::response(431, {}, {}, false).rfind("HTTP/1.1 431 Request Header Fields Too Large", 0) == 0);
  CHECK(wire::response(501, {}, {}, false).rfind("HTTP/1.1 501 Not Implemented", 0) == 0);
}

TEST_CASE("event streams: the head, events as chunks, priming, the end") {
  auto head = wire::event_stream_head(true);
  CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  std::string payload = "id: 1_2\nevent: message\ndata: {}\n\n";
  char size[8];
  std::snprintf(size, sizeof(size), "%zx", payload.size());
  CHECK(wire::event_chunk("1_2", "{}") == std::string{size} + "\r\n" + payload + "\r\n");
  CHECK(wire::event_chunk({}, "{}").find("id:") == std::string::npos);
  CHECK(wire::prime_chunk("1_0", 1000).find("id: 1_0\nretry: 1000\ndata: \n\n") != std::string::npos);
  CHECK(wire::keepalive_chunk() == "e\r\n: keep-alive\n\n\r\n");
  CHECK(wire::chunk("") == "0\r\n\r\n");
  CHECK(wire::last_chunk == "0\r\n\r\n");
}

} // TEST_SUITE
