#include <doctest/doctest.h>

#include "protocol/jsonrpc.hpp"
#include "tests/protocol/harness.hpp"

using namespace mcpvisor::protocol;
using mcpvisor::test::error_code;
using mcpvisor::test::harness;
using mcpvisor::test::parse;

namespace {

std::optional<decode_error> try_decode(std::string text,
                                       const decode_limits& limits = {}) {
  message m;
  return decode(std::move(text), m, limits);
}

} // namespace

TEST_SUITE("jsonrpc") {

TEST_CASE("requests, notifications and responses decode with their ids") {
  message m;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":7,"method":"ping"})", m));
  CHECK(m.kind == message_kind::request);
  CHECK(m.id == request_id{int64_t{7}});
  CHECK(m.method == "ping");
  message s;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":"a-1","method":"x","params":{"k":1}})", s));
  CHECK(s.id == request_id{std::string{"a-1"}});
  REQUIRE(s.param("k") != nullptr);
  message n;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", n));
  CHECK(n.kind == message_kind::notification);
  CHECK(n.id.empty());
  message r;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":3,"result":{}})", r));
  CHECK(r.kind == message_kind::result);
  message e;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}})", e));
  CHECK(e.kind == message_kind::error);
  // an integer id and a string id with the same digits are different ids
  CHECK_FALSE(request_id{int64_t{3}} == request_id{std::string{"3"}});
}

TEST_CASE("malformed JSON is a parse error (-32700)") {
  for (auto text : {"", "{", "{\"jsonrpc\":\"2.0\",", "nul", "{\"a\":1}}",
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"} trailing"}) {
    auto err = try_decode(text);
    REQUIRE(err);
    CHECK(err->code == errc::parse_error);
  }
}

TEST_CASE("invalid UTF-8 and NUL bytes are refused") {
  auto bad = try_decode("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}");
  REQUIRE(bad);
  CHECK(bad->code == errc::parse_error);
  CHECK(bad->message.find("UTF-8") != std::string::npos);
  std::string with_nul = R"({"jsonrpc":"2.0","id":1,"method":"x"})";
  with_nul.push_back('\0');
  with_nul += "junk";
  auto nul = try_decode(with_nul);
  REQUIRE(nul);
  CHECK(nul->code == errc::parse_error);
}

TEST_CASE("batches and wrong shapes are invalid requests (-32600)") {
  struct tc {
    const char* text;
    const char* why;
  };
  for (auto [text, why] : std::initializer_list<tc>{
         {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", "batches"},
         {R"("just a string")", "object"},
         {R"({"id":1,"method":"ping"})", "jsonrpc"},
         {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", "jsonrpc"},
         {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", "id"},
         {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", "id"},
         {R"({"jsonrpc":"2.0","id":{},"method":"ping"})", "id"},
         {R"({"jsonrpc":"2.0","id":1,"method":7})", "method"},
         {R"({"jsonrpc":"2.0","id":1,"method":""})", "method"},
         {R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})", "params"},
         {R"({"jsonrpc":"2.0","id":1})", "exactly one"},
         {R"({"jsonrpc":"2.0","id":1,"result":1})", "result"},
         {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", "exactly one"},
         {R"({"jsonrpc":"2.0","id":1,"error":{"message":"x"}})", "integer code"},
         {R"({"jsonrpc":"2.0","result":{}})", "id"},
       }) {
    CAPTURE(text);
    auto err = try_decode(text);
    REQUIRE(err);
    CHECK(err->code == errc::invalid_request);
    CHECK(err->message.find(why) != std::string::npos);
  }
}

TEST_CASE("an invalid request keeps its id when it can be read") {
  auto err = try_decode(R"({"jsonrpc":"2.0","id":"k","method":"x","params":3})");
  REQUIRE(err);
  CHECK(err->id == request_id{std::string{"k"}});
  auto out = decode_failure(*err);
  auto doc = parse(out.json);
  CHECK(std::string{doc["id"].GetString()} == "k");
  CHECK(error_code(doc) == errc::invalid_request);
}

TEST_CASE("every limit gives a clear error naming it") {
  decode_limits limits;
  limits.max_message_bytes = 64;
  limits.max_depth = 4;
  limits.max_string_bytes = 8;
  limits.max_object_members = 3;
  limits.max_array_items = 3;
  auto size = try_decode(std::string(100, ' '), limits);
  REQUIRE(size);
  CHECK(size->message.find("larger than 64 bytes") != std::string::npos);
  auto depth = try_decode(R"({"a":{"b":{"c":{"d":{}}}}})", limits);
  REQUIRE(depth);
  CHECK(depth->message.find("nesting too deep") != std::string::npos);
  auto str = try_decode(R"({"jsonrpc":"2.0","x":"123456789"})", limits);
  REQUIRE(str);
  CHECK(str->message.find("string too long") != std::string::npos);
  auto keys = try_decode(R"({"a":1,"b":2,"c":3,"d":4})", limits);
  REQUIRE(keys);
  CHECK(keys->message.find("too many members") != std::string::npos);
  auto items = try_decode(R"({"a":[1,2,3,4]})", limits);
  REQUIRE(items);
  CHECK(items->message.find("too many items") != std::string::npos);
  // the same messages within the limits decode (to a shape error at most)
  decode_limits roomy;
  CHECK_FALSE(try_decode(R"({"jsonrpc":"2.0","method":"m","params":{"a":[1,2,3,4]}})", roomy));
}

TEST_CASE("a deeply nested hostile message is refused at the depth limit, "
          "however deep it goes") {
  std::string deep(100000, '[');
  auto err = try_decode(deep);
  REQUIRE(err);
  CHECK(err->message.find("nesting too deep") != std::string::npos);
  // the parser recurses: a configured limit above 256 is still held at 256
  decode_limits lax;
  lax.max_depth = 1000000;
  auto capped = try_decode(deep, lax);
  REQUIRE(capped);
  CHECK(capped->message.find("nesting too deep") != std::string::npos);
}

TEST_CASE("parse_json takes text nested as deep as it is long without "
          "exhausting the stack") {
  // what an admin body or an upstream's message may hold
  std::string open(1000000, '[');
  CHECK_FALSE(parse_json(open));
  auto closed = open + std::string(open.size(), ']');
  auto doc = parse_json(closed);
  REQUIRE(doc);
  CHECK(doc->IsArray());
}

TEST_CASE("UTF-8 text and escapes decode whether or not the message is all "
          "ASCII") {
  message m;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":"caf\u00e9","method":"ping"})", m));
  CHECK(m.id.to_json() == "\"caf\xC3\xA9\"");
  REQUIRE_FALSE(decode("{\"jsonrpc\":\"2.0\",\"id\":\"caf\xC3\xA9\",\"method\":\"ping\"}", m));
  CHECK(m.id.to_json() == "\"caf\xC3\xA9\"");
  // a byte that is not UTF-8 is still caught when it is the only non-ASCII one
  auto bad = try_decode("{\"jsonrpc\":\"2.0\",\"id\":\"caf\xE9\",\"method\":\"ping\"}");
  REQUIRE(bad);
  CHECK(bad->code == errc::parse_error);
}

TEST_CASE("errors never leak internals") {
  harness h;
  h.init();
  for (auto text : {"{", R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fails"}})"}) {
    for (auto& o : h.send(text)) {
      CHECK(o.json.find("rapidjson") == std::string::npos);
      CHECK(o.json.find(".cpp") == std::string::npos);
      CHECK(o.json.find("/work") == std::string::npos);
    }
  }
}

TEST_CASE("encoders write what JSON-RPC expects") {
  CHECK(encode_result(request_id{int64_t{1}}, "{}")
        == R"({"jsonrpc":"2.0","id":1,"result":{}})");
  CHECK(encode_error(request_id{}, -32700, "bad \"x\"")
        == R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad \"x\""}})");
  CHECK(encode_notification("n", "") == R"({"jsonrpc":"2.0","method":"n"})");
  // text is quoted as the JSON writer would: escapes only where needed,
  // each kind of character that needs one on its own
  auto quoted = [](std::string_view text) {
    std::string q;
    append_quoted(q, text);
    return q;
  };
  CHECK(quoted("plain text, caf\xC3\xA9 \x7f") == "\"plain text, caf\xC3\xA9 \x7f\"");
  CHECK(quoted("a\"b") == "\"a\\\"b\"");
  CHECK(quoted("a\\b") == "\"a\\\\b\"");
  CHECK(quoted("a\nb") == "\"a\\nb\"");
  CHECK(quoted("a\x1f") == "\"a\\u001F\"");
  CHECK(quoted(std::string_view{"a\0b", 3}) == "\"a\\u0000b\"");
  std::string obj = "{}";
  add_member(obj, "a", "1");
  add_member(obj, "b", "true");
  CHECK(obj == R"({"a":1,"b":true})");
}

TEST_CASE("unpaired surrogate escapes are refused as invalid UTF-8") {
  auto lone = try_decode(R"({"jsonrpc":"2.0","id":"\ude00","method":"ping"})");
  REQUIRE(lone);
  CHECK(lone->code == errc::parse_error);
  CHECK(lone->message.find("UTF-8") != std::string::npos);
  auto key = try_decode(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"\ud800x":1}})");
  REQUIRE(key);
  CHECK(key->code == errc::parse_error);
  // a proper pair is a character outside the BMP, and fine
  message m;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":"\ud83d\ude00","method":"ping"})", m));
  CHECK(m.id.to_json() == "\"\xF0\x9F\x98\x80\"");
}

TEST_CASE("a lead byte at the very end of the text is an error, not a read "
          "past it") {
  // found by tests/fuzz/jsonrpc_fuzz.cpp: UTF-8 validation looked beyond
  // the end of the buffer
  auto e = try_decode("{\"jsonrpc\":\"2.0\",\"id\":\"\xF0@");
  REQUIRE(e);
  CHECK(e->code == errc::parse_error);
  message m;
  REQUIRE_FALSE(decode(R"({"jsonrpc":"2.0","id":7,"method":"ping"})", m));
  CHECK(m.size() == 40);
}

} // TEST_SUITE
