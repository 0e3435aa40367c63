#include <doctest/doctest.h>

#include "protocol/json_schema.hpp"

using namespace mcpvisor::protocol;

namespace {

json_schema schema(std::string_view text) {
  std::string err;
  auto s = json_schema::compile(text, &err);
  INFO(err);
  REQUIRE(s);
  return std::move(*s);
}

bool ok(const json_schema& s, std::string_view instance) {
  auto doc = parse_json(instance);
  REQUIRE(doc);
  bool a = s.accepts(*doc);
  CHECK(a == s.validate(*doc).empty());
  return a;
}

std::string why(const json_schema& s, std::string_view instance) {
  auto doc = parse_json(instance);
  REQUIRE(doc);
  return json_schema::describe(s.validate(*doc));
}

} // namespace

TEST_SUITE("json schema 2020-12") {

TEST_CASE("type, including integer vs number and type lists") {
  auto s = schema(R"({"type":"integer"})");
  CHECK(ok(s, "3"));
  CHECK(ok(s, "3.0"));
  CHECK_FALSE(ok(s, "3.5"));
  CHECK_FALSE(ok(s, "\"3\""));
  auto n = schema(R"({"type":"number"})");
  CHECK(ok(n, "3"));
  CHECK(ok(n, "3.5"));
  auto multi = schema(R"({"type":["string","null"]})");
  CHECK(ok(multi, "null"));
  CHECK(ok(multi, "\"x\""));
  CHECK_FALSE(ok(multi, "1"));
  CHECK(why(multi, "1").find("expected null or string, got integer")
        != std::string::npos);
}

TEST_CASE("properties, required and additionalProperties") {
  auto s = schema(R"({"type":"object","properties":{"a":{"type":"string"}},
                      "required":["a"],"additionalProperties":false})");
  CHECK(ok(s, R"({"a":"x"})"));
  CHECK_FALSE(ok(s, R"({})"));
  CHECK(why(s, "{}").find("missing required property 'a'") != std::string::npos);
  CHECK_FALSE(ok(s, R"({"a":"x","b":1})"));
  CHECK(why(s, R"({"a":"x","b":1})").find("'b' is not allowed") != std::string::npos);
  CHECK(why(s, R"({"a":1})").find("at /a: expected string") != std::string::npos);
  auto typed_extra = schema(R"({"additionalProperties":{"type":"integer"}})");
  CHECK(ok(typed_extra, R"({"x":1})"));
  CHECK_FALSE(ok(typed_extra, R"({"x":"1"})"));
}

TEST_CASE("enum and const") {
  auto e = schema(R"({"enum":["a",1,null,{"k":[1]}]})");
  CHECK(ok(e, "\"a\""));
  CHECK(ok(e, R"({"k":[1]})"));
  CHECK_FALSE(ok(e, "\"b\""));
  auto c = schema(R"({"const":{"x":1}})");
  CHECK(ok(c, R"({"x":1})"));
  CHECK_FALSE(ok(c, R"({"x":2})"));
}

TEST_CASE("items, prefixItems, contains, min/maxItems, uniqueItems") {
  auto s = schema(R"({"type":"array","prefixItems":[{"type":"string"}],
                      "items":{"type":"integer"},"minItems":1,"maxItems":3,
                      "uniqueItems":true})");
  CHECK(ok(s, R"(["a",1,2])"));
  CHECK_FALSE(ok(s, R"([1])"));
  CHECK_FALSE(ok(s, R"(["a","b"])"));
  CHECK_FALSE(ok(s, R"([])"));
  CHECK_FALSE(ok(s, R"(["a",1,2,3])"));
  CHECK_FALSE(ok(s, R"(["a",1,1])"));
  auto c = schema(R"({"contains":{"const":5},"minContains":2})");
  CHECK(ok(c, "[5,1,5]"));
  CHECK_FALSE(ok(c, "[5,1]"));
}

TEST_CASE("numeric bounds and multipleOf") {
  auto s = schema(R"({"minimum":1,"maximum":10,"exclusiveMaximum":10,"multipleOf":0.5})");
  CHECK(ok(s, "1"));
  CHECK(ok(s, "9.5"));
  CHECK_FALSE(ok(s, "0.5"));
  CHECK_FALSE(ok(s, "10"));
  CHECK_FALSE(ok(s, "2.25"));
  CHECK(why(s, "0").find("must be >= 1") != std::string::npos);
  auto ex = schema(R"({"exclusiveMinimum":0})");
  CHECK_FALSE(ok(ex, "0"));
  CHECK(ok(ex, "0.1"));
}

TEST_CASE("string length counts characters, pattern is unanchored") {
  auto s = schema(R"({"minLength":2,"maxLength":3,"pattern":"^[a-zé]+$"})");
  CHECK(ok(s, "\"ab\""));
  CHECK(ok(s, "\"éé\""));   // 2 characters, 4 bytes
  CHECK_FALSE(ok(s, "\"a\""));
  CHECK_FALSE(ok(s, "\"abcd\""));
  CHECK_FALSE(ok(s, "\"AB\""));
  auto p = schema(R"({"pattern":"\\d"})");
  CHECK(ok(p, "\"abc1\""));
}

TEST_CASE("allOf, anyOf, oneOf, not, if/then/else") {
  auto all = schema(R"({"allOf":[{"type":"string"},{"minLength":2}]})");
  CHECK(ok(all, "\"ab\""));
  CHECK_FALSE(ok(all, "\"a\""));
  auto any = schema(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})");
  CHECK(ok(any, "1"));
  CHECK_FALSE(ok(any, "true"));
  auto one = schema(R"({"oneOf":[{"type":"integer"},{"minimum":2}]})");
  CHECK(ok(one, "1"));
  CHECK_FALSE(ok(one, "3")); // matches both
  auto neg = schema(R"({"not":{"type":"null"}})");
  CHECK(ok(neg, "0"));
  CHECK_FALSE(ok(neg, "null"));
  auto cond = schema(R"({"if":{"properties":{"kind":{"const":"phone"}},"required":["kind"]},
                         "then":{"required":["phone"]},"else":{"required":["email"]}})");
  CHECK(ok(cond, R"({"kind":"phone","phone":"1"})"));
  CHECK_FALSE(ok(cond, R"({"kind":"phone"})"));
  CHECK(ok(cond, R"({"email":"e"})"));
  CHECK_FALSE(ok(cond, R"({})"));
}

TEST_CASE("local $defs, $ref by pointer and by $anchor, boolean schemas") {
  auto s = schema(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
    "$defs":{"addr":{"$anchor":"addressDef","type":"object",
      "properties":{"city":{"type":"string"}},"required":["city"]}},
    "properties":{"home":{"$ref":"#/$defs/addr"},"work":{"$ref":"#addressDef"},
                  "never":false,"any":true}})");
  CHECK(ok(s, R"({"home":{"city":"x"},"work":{"city":"y"},"any":[1]})"));
  CHECK_FALSE(ok(s, R"({"home":{}})"));
  CHECK(why(s, R"({"work":{"city":1}})").find("/work/city") != std::string::npos);
  CHECK_FALSE(ok(s, R"({"never":1})"));
}

TEST_CASE("recursive schemas validate and self-reference ends") {
  auto tree = schema(R"({"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}}})");
  CHECK(ok(tree, R"({"kids":[{"kids":[]},{}]})"));
  CHECK_FALSE(ok(tree, R"({"kids":[1]})"));
  auto loop = schema(R"({"$ref":"#"})");
  CHECK_FALSE(ok(loop, "1")); // the cycle hits the $ref depth limit
}

TEST_CASE("other object keywords") {
  auto s = schema(R"({"patternProperties":{"^x-":{"type":"string"}},
    "propertyNames":{"maxLength":5},"minProperties":1,"maxProperties":2,
    "dependentRequired":{"a":["b"]}})");
  CHECK(ok(s, R"({"x-a":"v"})"));
  CHECK_FALSE(ok(s, R"({"x-a":1})"));
  CHECK_FALSE(ok(s, R"({"toolongname":1})"));
  CHECK_FALSE(ok(s, R"({})"));
  CHECK_FALSE(ok(s, R"({"a":1})"));
  CHECK(ok(s, R"({"a":1,"b":2})"));
}

TEST_CASE("schemas that cannot be applied are refused at compile time") {
  std::string err;
  CHECK_FALSE(json_schema::compile("{", &err));
  CHECK_FALSE(json_schema::compile(R"({"$ref":"https://example.com/s.json"})", &err));
  CHECK(err.find("only local $ref") != std::string::npos);
  CHECK_FALSE(json_schema::compile(R"({"$ref":"#/$defs/nope"})", &err));
  CHECK(err.find("unresolved") != std::string::npos);
  CHECK_FALSE(json_schema::compile(R"({"pattern":"("})", &err));
  CHECK(err.find("invalid pattern") != std::string::npos);
  CHECK_FALSE(json_schema::compile(R"({"type":"strnig"})", &err));
  CHECK_FALSE(json_schema::compile(R"({"minLength":-1})", &err));
  CHECK_FALSE(json_schema::compile(R"({"anyOf":[]})", &err));
  schema_limits tight;
  tight.max_subschemas = 3;
  CHECK_FALSE(json_schema::compile(R"({"allOf":[{},{},{},{}]})", &err, tight));
  CHECK(err.find("too many subschemas") != std::string::npos);
}

TEST_CASE("validation has a budget") {
  schema_limits limits;
  limits.max_steps = 100;
  auto s = json_schema::compile(R"({"items":{"anyOf":[{"type":"string"},{"type":"integer"}]}})",
                                nullptr, limits);
  REQUIRE(s);
  std::string big = "[";
  for (int i = 0; i < 200; ++i)
    big += i == 0 ? "1" : ",1";
  big += "]";
  auto doc = parse_json(big);
  auto errs = s->validate(*doc);
  REQUIRE_FALSE(errs.empty());
  CHECK(json_schema::describe(errs).find("budget") != std::string::npos);
}

TEST_CASE("errors are capped and say where") {
  auto s = schema(R"({"type":"array","items":{"type":"string"}})");
  auto doc = parse_json("[1,2,3,4,5,6,7,8]");
  auto errs = s.validate(*doc);
  CHECK(errs.size() == 5);
  CHECK(errs.front().path == "/0");
}

} // TEST_SUITE
