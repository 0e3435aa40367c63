#include <doctest/doctest.h>

#include "protocol/forwarding.hpp"

using namespace mcpvisor::protocol;

namespace {

json_document doc(const std::string& text) {
  auto d = parse_json(text);
  REQUIRE(d);
  return std::move(*d);
}

} // namespace

TEST_SUITE("forwarding") {

TEST_CASE("an upstream's tool becomes ours, prefixed, with what it said") {
  std::string why;
  std::string note;
  auto t = tool_from_upstream(
    doc(R"({"name":"echo","title":"Echo","description":"d","inputSchema":{"type":"object","properties":{"m":{"type":"string"}}},"annotations":{"readOnlyHint":true,"idempotentHint":false},"_meta":{"x":1}})"),
    "ev__", why, note);
  REQUIRE(t);
  CHECK(t->name == "ev__echo");
  CHECK(t->title == "Echo");
  CHECK(t->input_schema.find("\"m\"") != std::string::npos);
  CHECK(t->annotations.read_only == true);
  CHECK(t->annotations.idempotent == false);
  CHECK(t->meta == R"({"x":1})");
  CHECK(t->exec == execution::inline_call);
  CHECK(note.empty());
}

TEST_CASE("what cannot be offered is said, and odd schemas are not checked here") {
  std::string why;
  std::string note;
  CHECK_FALSE(tool_from_upstream(doc(R"({"description":"no name"})"), "", why, note));
  CHECK_FALSE(why.empty());
  CHECK_FALSE(tool_from_upstream(doc(R"({"name":"has space"})"), "", why, note));
  auto loose = tool_from_upstream(doc(R"({"name":"t","inputSchema":{"properties":{}}})"), "p_", why, note);
  REQUIRE(loose);
  CHECK(loose->input_schema == R"({"type":"object"})");
  CHECK(note.find("not an object schema") != std::string::npos);
}

TEST_CASE("resources keep their URIs; templates must parse; prompts are prefixed") {
  std::string why;
  auto r = resource_from_upstream(doc(R"({"uri":"demo://a","name":"a","mimeType":"text/plain","size":12})"), why);
  REQUIRE(r);
  CHECK(r->uri == "demo://a");
  CHECK(r->size == 12u);
  CHECK_FALSE(resource_from_upstream(doc(R"({"name":"no uri"})"), why));
  CHECK(template_from_upstream(doc(R"({"uriTemplate":"demo://{id}","name":"t"})"), why));
  CHECK_FALSE(template_from_upstream(doc(R"({"uriTemplate":"demo://{unclosed","name":"t"})"), why));
  auto p = prompt_from_upstream(doc(R"({"name":"greet","arguments":[{"name":"who","required":true}]})"), "up__", why);
  REQUIRE(p);
  CHECK(p->name == "up__greet");
  REQUIRE(p->arguments.size() == 1);
  CHECK(p->arguments[0].required);
}

TEST_CASE("forwarded params name the upstream's own tool and carry progress") {
  auto args = doc(R"({"a":1})");
  auto params = forward_tool_params("echo", args, "7");
  CHECK(params == R"({"name":"echo","arguments":{"a":1},"_meta":{"progressToken":"7"}})");
  CHECK(forward_read_params("x://y") == R"({"uri":"x://y"})");
}

TEST_CASE("an upstream's results become ours, content passed as it was") {
  auto r = tool_result_from_upstream(doc(R"({"content":[{"type":"text","text":"hi"}],"structuredContent":{"n":1},"isError":true})"));
  REQUIRE(r.content.size() == 1);
  CHECK(r.content[0].json() == R"({"type":"text","text":"hi"})");
  CHECK(r.structured == R"({"n":1})");
  CHECK(r.is_error);
  auto read = read_result_from_upstream(doc(R"({"contents":[{"uri":"a","text":"x"}]})"));
  CHECK(read.contents.size() == 1);
  CHECK(read_result_from_upstream(doc(R"({"contents":[]})")).not_found);
  auto p = prompt_result_from_upstream(doc(R"({"description":"d","messages":[{"role":"user","content":{"type":"text","text":"q"}}]})"));
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].role == "user");
}

} // TEST_SUITE
