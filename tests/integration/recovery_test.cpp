#include <doctest/doctest.h>

#include <thread>

#include "tests/integration/server_fixture.hpp"

using namespace mcpvisor::test;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string call(int id, const std::string& tool, const std::string& args = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":{"name":")" + tool
         + R"(","arguments":)" + args + "}}";
}

const std::string restarted = "the session restarted while this request was in flight";

} // namespace

TEST_SUITE("crash recovery") {

TEST_CASE("a crashed session keeps its id; read-only calls in flight run "
          "again, others get one restarted-session error") {
  server_fixture s{{}, "drill"};
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto headers = s.session_headers(sid);
  http_client slow_read{s.port};
  http_client slow_write{s.port};
  REQUIRE(slow_read.send_raw(http_client::post(call(11, "sleep", R"({"ms":700})"), headers)));
  REQUIRE(slow_write.send_raw(http_client::post(call(12, "bump", R"({"ms":700})"), headers)));
  std::this_thread::sleep_for(150ms); // both are running on workers now
  auto crash = s.request(http_client::post(call(13, "crash"), headers));
  REQUIRE(crash);
  CHECK(crash->status == 200);
  CHECK(has(crash->body, restarted));
  CHECK(has(crash->body, "\"sessionRestarted\":true"));
  auto read = slow_read.read_response();
  REQUIRE(read);
  CHECK(read->status == 200);
  CHECK(has(read->body, "\"id\":11"));
  CHECK(has(read->body, "\"text\":\"slept\""));
  auto write = slow_write.read_response();
  REQUIRE(write);
  CHECK(has(write->body, "\"id\":12"));
  CHECK(has(write->body, restarted));
  // nothing more comes on either connection: exactly one answer each
  CHECK_FALSE(slow_read.read_response(300ms));
  CHECK_FALSE(slow_write.read_response(300ms));
  // the same session id goes on working, with its negotiated state
  auto ping = s.request(http_client::post(R"({"jsonrpc":"2.0","id":14,"method":"ping"})", headers));
  REQUIRE(ping);
  CHECK(ping->status == 200);
  auto echo = s.request(http_client::post(call(15, "echo", R"({"text":"still here"})"), headers));
  REQUIRE(echo);
  CHECK(has(echo->body, "still here"));
  // the crash is reported as one structured line naming what crashed
  auto line = s.proc->wait_stderr("session stopped abnormally", 2s);
  REQUIRE(line);
  CHECK(has(*line, "\"session\":\"" + sid + "\""));
  CHECK(has(*line, "\"request\":\"13\""));
  CHECK(has(*line, "\"method\":\"tools/call\""));
  CHECK(has(*line, "the crash tool was called"));
  CHECK(has(*line, "\"path\":\"root/meta-"));
}

TEST_CASE("a GET stream and the replay buffer survive a crash") {
  server_fixture s{{}, "drill"};
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto headers = s.session_headers(sid);
  // an SSE answer (a progress token asks for one) leaves events to resume
  http_client progress{s.port};
  REQUIRE(progress.send_raw(http_client::post(
    R"({"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"progressToken":"p"}}})",
    headers)));
  auto head = progress.read_head();
  REQUIRE(head);
  CHECK(head->header("content-type") == "text/event-stream");
  auto events = progress.read_events(2, 2s);
  REQUIRE(events.size() == 2);
  auto prime_id = events[0].substr(4, events[0].find('\n') - 4);
  auto crash = s.request(http_client::post(call(22, "crash"), headers));
  REQUIRE(crash);
  CHECK(has(crash->body, restarted));
  // the restarted actor replays the stream from the priming event
  http_client resume{s.port};
  REQUIRE(resume.send_raw("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                          + headers + "Last-Event-ID: " + prime_id + "\r\n\r\n"));
  auto rhead = resume.read_head();
  REQUIRE(rhead);
  CHECK(rhead->status == 200);
  auto replayed = resume.read_events(1, 2s);
  REQUIRE(replayed.size() == 1);
  CHECK(has(replayed[0], "\"id\":21"));
  CHECK(has(replayed[0], "\"text\":\"x\""));
}

TEST_CASE("requests that arrive while a session restarts are answered once") {
  server_fixture s{{}, "drill"};
  auto sid = s.initialize();
  REQUIRE_FALSE(sid.empty());
  auto headers = s.session_headers(sid);
  // a crash followed at once by pipelined calls on one connection and by
  // calls on others: each gets exactly one answer, and none is lost
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<http_client>(s.port));
    REQUIRE(clients.back()->connected());
  }
  REQUIRE(clients[0]->send_raw(http_client::post(call(30, "crash"), headers)));
  for (int i = 1; i < 8; ++i)
    REQUIRE(clients[i]->send_raw(http_client::post(
      call(30 + i, "echo", R"({"text":"n)" + std::to_string(i) + R"("})"), headers)));
  auto first = clients[0]->read_response();
  REQUIRE(first);
  CHECK(has(first->body, restarted));
  for (int i = 1; i < 8; ++i) {
    auto r = clients[i]->read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(has(r->body, "\"id\":" + std::to_string(30 + i)));
    // echo is read-only: it is never answered with the restart error
    CHECK(has(r->body, "\"text\":\"n" + std::to_string(i) + "\""));
  }
}

} // TEST_SUITE
