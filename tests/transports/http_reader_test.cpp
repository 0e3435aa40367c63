#include <doctest/doctest.h>

#include <string>

#include "transports/http_reader.hpp"
#include "transports/request_view.hpp"

using namespace mcpvisor::transports;

namespace {

const std::string head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n";

/// Feeds `bytes` in pieces of `step`, as socket reads would deliver them.
struct fed {
  explicit fed(const std::string& bytes, read_limits limits = {}, size_t step = 7)
    : reader(limits) {
    size_t pos = 0;
    for (;;) {
      buffered.erase(0, reader.feed(buffered));
      if (reader.done() || reader.refusal() || pos >= bytes.size())
        break;
      buffered += bytes.substr(pos, step);
      pos += step;
    }
  }
  request_reader reader;
  std::string buffered;
};

int refused(const std::string& bytes, read_limits limits = {}) {
  fed f{bytes, limits};
  return f.reader.refusal() ? f.reader.refusal()->status : 0;
}

} // namespace

TEST_SUITE("http reader") {

TEST_CASE("a request with Content-Length, and one with chunks, read whole") {
  fed plain{head + "Content-Length: 2\r\n\r\n{}"};
  REQUIRE(plain.reader.done());
  CHECK(plain.reader.release().body() == "{}");
  fed chunks{head + "Transfer-Encoding: chunked\r\n\r\n1;a=b\r\n{\r\n1\r\n}\r\n0\r\n\r\n"};
  REQUIRE(chunks.reader.done());
  CHECK(chunks.reader.release().body() == "{}");
}

TEST_CASE("pipelined bytes after a request stay unconsumed") {
  fed f{head + "Content-Length: 2\r\n\r\n{}GET /mcp HTTP/1.1\r\n", {}, 4096};
  REQUIRE(f.reader.done());
  CHECK(f.buffered == "GET /mcp HTTP/1.1\r\n");
}

TEST_CASE("transfer codings: only chunked, alone and last") {
  CHECK(refused(head + "Transfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(refused(head + "Transfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}") == 400);
  CHECK(refused(head + "Transfer-Encoding: xchunked\r\n\r\n") == 501);
  CHECK(refused(head + "Transfer-Encoding: chunked, identity\r\n\r\n") == 400);
  CHECK(refused(head + "Transfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(refused(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(refused(head + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(refused(head + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n") == 400);
}

TEST_CASE("Host is required once; singleton headers once") {
  CHECK(refused("POST /mcp HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == 400);
  CHECK(refused(head + "Host: evil.com\r\nContent-Length: 0\r\n\r\n") == 400);
  for (std::string name : {"Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version",
                           "Origin", "Authorization", "Mcp-Method", "Mcp-Name",
                           "Last-Event-ID", "Content-Length"}) {
    CAPTURE(name);
    CHECK(refused(head + name + ": 0\r\n" + name + ": 0\r\nContent-Length: 0\r\n\r\n") == 400);
  }
  // HTTP/1.0 has no Host requirement
  fed old{"POST /mcp HTTP/1.0\r\nContent-Length: 0\r\n\r\n"};
  CHECK(old.reader.done());
}

TEST_CASE("every part of the framing counts against a limit") {
  read_limits small{256, 1024};
  CHECK(refused(head + "X-Big: " + std::string(300, 'a') + "\r\n\r\n", small) == 431);
  CHECK(refused(head + "Content-Length: 2000\r\n\r\n" + std::string(2000, 'a'), small) == 413);
  // one chunk-size line of endless extensions
  CHECK(refused(head + "Transfer-Encoding: chunked\r\n\r\n2;" + std::string(4096, 'e'), small) == 431);
  // many chunks whose extensions add up
  std::string many = head + "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i)
    many += "1;" + std::string(40, 'e') + "\r\nx\r\n";
  CHECK(refused(many, small) == 431);
  // a trailer section that never ends
  CHECK(refused(head + "Transfer-Encoding: chunked\r\n\r\n0\r\n"
                  + std::string(100, 'X') + ": 1\r\n" + std::string(300, 'T'), small) == 431);
  // trailers are refused even when small: they would add headers unchecked
  CHECK(refused(head + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nMcp-Session-Id: x\r\n\r\n") == 400);
}

TEST_CASE("a header field too large for Beast's storage is a 431, not an "
          "exception") {
  read_limits wide{200000, 1024};
  CHECK(refused(head + "X-Big: " + std::string(70000, 'a') + "\r\n\r\n", wide) == 431);
  CHECK(refused(head + std::string(70000, 'N') + ": 1\r\n\r\n", wide) == 431);
}

TEST_CASE("malformed requests are a 400 with the reason") {
  fed f{"GARBAGE\r\n\r\n"};
  REQUIRE(f.reader.refusal());
  CHECK(f.reader.refusal()->status == 400);
  CHECK(f.reader.refusal()->text.find("malformed") != std::string::npos);
  CHECK(refused(head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(refused(head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
}

TEST_CASE("the view of a request: header names in any case, the first Accept, "
          "Mcp-Param-* in order") {
  fed f{"POST /mcp?x=1 HTTP/1.1\r\nHOST: 127.0.0.1:9\r\naccept: application/json\r\n"
        "Accept: text/event-stream\r\nOrigin: http://localhost\r\n"
        "content-type: application/json\r\nMCP-SESSION-ID: abc\r\n"
        "Last-Event-ID: 7\r\nmcp-protocol-version: 2026-07-28\r\n"
        "Mcp-Method: tools/call\r\nMcp-Name: echo\r\nMcp-Param-Region: eu\r\n"
        "mcp-param-Zone: 2\r\nMcp-Param-: empty name\r\nX-Other: 1\r\n"
        "Content-Length: 2\r\n\r\n{}"};
  REQUIRE(f.reader.done());
  auto req = f.reader.release();
  auto v = request_view(req);
  CHECK(v.method == "POST");
  CHECK(v.target == "/mcp?x=1");
  CHECK(v.host == "127.0.0.1:9");
  CHECK(v.accept == "application/json");
  CHECK(v.origin == "http://localhost");
  CHECK(v.content_type == "application/json");
  CHECK(v.session_id == "abc");
  CHECK(v.last_event_id == "7");
  CHECK(v.mcp.protocol_version == "2026-07-28");
  CHECK(v.mcp.has_method);
  CHECK(v.mcp.method == "tools/call");
  CHECK(v.mcp.has_name);
  CHECK(v.mcp.name == "echo");
  REQUIRE(v.mcp.params.size() == 2);
  CHECK(v.mcp.params[0].first == "Region");
  CHECK(v.mcp.params[0].second == "eu");
  CHECK(v.mcp.params[1].first == "Zone");
  CHECK(v.mcp.params[1].second == "2");
  // absent headers are empty, and an empty Mcp-Method still counts as sent
  fed bare{head + "Mcp-Method:\r\nContent-Length: 2\r\n\r\n{}"};
  REQUIRE(bare.reader.done());
  auto req2 = bare.reader.release();
  auto w = request_view(req2);
  CHECK(w.session_id.empty());
  CHECK(w.accept.empty());
  CHECK(w.mcp.has_method);
  CHECK(w.mcp.method.empty());
  CHECK_FALSE(w.mcp.has_name);
  fed named{head + "Mcp-Name:\r\nContent-Length: 2\r\n\r\n{}"};
  REQUIRE(named.reader.done());
  auto req3 = named.reader.release();
  auto n = request_view(req3);
  CHECK_FALSE(n.mcp.has_method);
  CHECK(n.mcp.has_name);
  CHECK(n.mcp.name.empty());
}

} // TEST_SUITE
