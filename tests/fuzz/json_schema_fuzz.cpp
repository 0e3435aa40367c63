// JSON Schema 2020-12: arguments validated against the schemas tools ship
// (the conformance suite's, with $defs, patterns and combinators), and, for
// inputs that start with 'S', the input compiled as a schema itself (a
// tool's schema is the developer's, but a hostile pattern must not spin).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/json.hpp"
#include "protocol/json_schema.hpp"

using namespace mcpvisor::protocol;

namespace {

const std::vector<json_schema>& schemas() {
  static const std::vector<json_schema> all = [] {
    std::vector<json_schema> out;
    for (auto text : {
           R"({"type":"object","properties":{"text":{"type":"string","maxLength":65536}},"required":["text"],"additionalProperties":false})",
           R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},"properties":{"name":{"type":"string","minLength":1},"address":{"$ref":"#/$defs/address"},"tags":{"type":"array","items":{"type":"string"},"uniqueItems":true,"maxItems":8},"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]+$"}},"required":["name"],"additionalProperties":false})",
           R"({"type":"object","properties":{"n":{"anyOf":[{"type":"integer","minimum":0,"multipleOf":3},{"type":"string","format":"email"}]},"e":{"enum":["a","b",1,null]},"c":{"const":{"x":[1,2]}},"o":{"oneOf":[{"required":["p"]},{"required":["q"]}]},"d":{"not":{"type":"null"}}},"dependentRequired":{"n":["e"]},"propertyNames":{"pattern":"^[a-z]+$"}})",
           R"({"type":"array","prefixItems":[{"type":"number"},{"type":"boolean"}],"items":false,"contains":{"type":"number"},"minContains":1})",
         }) {
      std::string error;
      auto s = json_schema::compile(text, &error);
      if (!s)
        __builtin_trap(); // a schema the project relies on must compile
      out.push_back(std::move(*s));
    }
    return out;
  }();
  return all;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (!in.empty() && in[0] == 'S') {
    std::string error;
    schema_limits limits;
    if (auto s = json_schema::compile(in.substr(1), &error, limits)) {
      json_document empty;
      empty.SetObject();
      (void) s->validate(empty);
      if (auto doc = parse_json(R"({"a":[1,"x",{"b":null}],"c":"test@example.com"})"))
        (void) s->validate(*doc);
    }
    return 0;
  }
  auto doc = parse_json(in);
  if (!doc)
    return 0;
  for (auto& s : schemas()) {
    auto errors = s.validate(*doc);
    if (errors.empty() != s.accepts(*doc))
      __builtin_trap(); // the two ways to ask disagree
    (void) json_schema::describe(errors);
  }
  return 0;
}
