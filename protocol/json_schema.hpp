#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/json.hpp"

/// JSON Schema 2020-12 validation for tool arguments and structured output.
///
/// Covered: type, enum, const; properties, required, additionalProperties,
/// patternProperties, propertyNames, min/maxProperties, dependentRequired;
/// items, prefixItems, contains, min/maxItems, uniqueItems; minimum, maximum,
/// exclusiveMinimum, exclusiveMaximum, multipleOf; min/maxLength (code
/// points), pattern (ECMAScript-like, PCRE2 with a match limit); allOf,
/// anyOf, oneOf, not, if/then/else; boolean schemas; local $ref ("#",
/// "#/json/pointer" into $defs or anywhere, "#anchor" via $anchor). Remote
/// $refs are refused at compile time, never fetched. Annotation keywords
/// (title, description, default, format, examples, x-*) are ignored.
namespace mcpvisor::protocol {

/// Bounds that keep a hostile schema or instance from costing too much.
struct schema_limits {
  size_t max_subschemas = 10000;
  unsigned max_schema_depth = 64;
  /// Keyword evaluations per validation.
  size_t max_steps = 1000000;
  /// $ref hops on one path (cycles end here).
  unsigned max_ref_depth = 64;
  /// Errors reported (validation stops collecting after this many).
  size_t max_errors = 5;
};

/// One reason an instance does not validate: where, and what.
struct schema_error {
  /// JSON pointer into the instance, "" for the root.
  std::string path;
  std::string message;
};

class json_schema {
public:
  ~json_schema();
  json_schema(json_schema&&) noexcept;
  json_schema& operator=(json_schema&&) noexcept;

  /// Compiles `schema` (the JSON text of a schema). Returns an error text if
  /// it is not a schema this validator can apply (malformed keyword values,
  /// unresolvable or remote $ref, a pattern that does not compile, or limits
  /// exceeded).
  static std::optional<json_schema> compile(std::string_view schema_json,
                                            std::string* error = nullptr,
                                            const schema_limits& limits = {});

  /// Validates `instance`; an empty result means valid.
  std::vector<schema_error> validate(const json_value& instance) const;

  /// True if `instance` is valid (stops at the first error).
  bool accepts(const json_value& instance) const;

  /// The schema as given (for listings).
  const std::string& text() const noexcept;

  /// Renders errors as one line: "at /a/b: expected string; at /c: ...".
  static std::string describe(const std::vector<schema_error>& errors);

private:
  struct impl;
  explicit json_schema(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace mcpvisor::protocol
