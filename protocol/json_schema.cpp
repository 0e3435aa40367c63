#include "protocol/json_schema.hpp"

#include <cmath>
#include <limits>
#include <unordered_map>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace mcpvisor::protocol {

namespace {

// -- regular expressions ------------------------------------------------------

/// A compiled PCRE2 pattern with a match limit, so a pathological pattern
/// cannot spin on a long string.
class regex {
public:
  static std::shared_ptr<regex> compile(std::string_view pattern,
                                        std::string* error) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    auto* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                             pattern.size(), PCRE2_UTF | PCRE2_UCP, &code,
                             &offset, nullptr);
    if (re == nullptr) {
      if (error != nullptr) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(code, buf, sizeof(buf));
        *error = "invalid pattern '" + std::string{pattern}
                 + "': " + reinterpret_cast<const char*>(buf);
      }
      return nullptr;
    }
    return std::shared_ptr<regex>(new regex(re));
  }

  ~regex() {
    pcre2_match_context_free(ctx_);
    pcre2_code_free(re_);
  }

  /// True if the pattern matches anywhere in `text` (JSON Schema patterns
  /// are not anchored). A match that hits the limit counts as no match.
  bool search(std::string_view text) const {
    auto* md = pcre2_match_data_create_from_pattern(re_, nullptr);
    int rc = pcre2_match(re_, reinterpret_cast<PCRE2_SPTR>(text.data()),
                         text.size(), 0, 0, md, ctx_);
    pcre2_match_data_free(md);
    return rc >= 0;
  }

private:
  explicit regex(pcre2_code* re) : re_(re), ctx_(pcre2_match_context_create(nullptr)) {
    pcre2_set_match_limit(ctx_, 100000);
    pcre2_set_depth_limit(ctx_, 1000);
  }

  pcre2_code* re_;
  pcre2_match_context* ctx_;
};

using regex_ptr = std::shared_ptr<regex>;

// -- compiled schema ----------------------------------------------------------

enum type_bit : uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_integer = 32,
  t_string = 64,
};

struct node {
  /// A boolean schema (true accepts everything, false nothing).
  bool is_bool = false;
  bool bool_value = true;
  uint8_t types = 0;
  const json_value* enum_values = nullptr;
  const json_value* const_value = nullptr;
  // objects
  std::vector<std::pair<std::string, int>> properties;
  std::vector<std::string> required;
  int additional = -1;
  std::vector<std::pair<regex_ptr, int>> pattern_properties;
  int property_names = -1;
  std::optional<size_t> min_properties;
  std::optional<size_t> max_properties;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  // arrays
  std::vector<int> prefix_items;
  int items = -1;
  int contains = -1;
  std::optional<size_t> min_items;
  std::optional<size_t> max_items;
  std::optional<size_t> min_contains;
  std::optional<size_t> max_contains;
  bool unique_items = false;
  // numbers
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<double> exclusive_minimum;
  std::optional<double> exclusive_maximum;
  std::optional<double> multiple_of;
  // strings
  std::optional<size_t> min_length;
  std::optional<size_t> max_length;
  regex_ptr pattern;
  std::string pattern_text;
  // applicators
  std::vector<int> all_of;
  std::vector<int> any_of;
  std::vector<int> one_of;
  int not_schema = -1;
  int if_schema = -1;
  int then_schema = -1;
  int else_schema = -1;
  std::string ref_text;
  int ref = -1;
};

bool is_integral(const json_value& v) {
  if (v.IsInt64() || v.IsUint64())
    return true;
  if (!v.IsDouble())
    return false;
  double d = v.GetDouble();
  return std::isfinite(d) && std::floor(d) == d;
}

uint8_t type_of(const json_value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return t_null;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return t_boolean;
    case rapidjson::kObjectType: return t_object;
    case rapidjson::kArrayType: return t_array;
    case rapidjson::kStringType: return t_string;
    case rapidjson::kNumberType:
      return is_integral(v) ? static_cast<uint8_t>(t_number | t_integer)
                            : static_cast<uint8_t>(t_number);
  }
  return 0;
}

const char* type_name(const json_value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return is_integral(v) ? "integer" : "number";
  }
  return "value";
}

std::string types_text(uint8_t types) {
  static constexpr std::pair<uint8_t, const char*> names[] = {
    {t_null, "null"},     {t_boolean, "boolean"}, {t_object, "object"},
    {t_array, "array"},   {t_number, "number"},   {t_integer, "integer"},
    {t_string, "string"}};
  std::string out;
  for (auto [bit, name] : names) {
    if ((types & bit) == 0)
      continue;
    if (bit == t_integer && (types & t_number) != 0)
      continue;
    if (!out.empty())
      out += " or ";
    out += name;
  }
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

std::string pointer_escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string pointer_unescape(std::string_view seg) {
  std::string out;
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '~' && i + 1 < seg.size()) {
      out += seg[i + 1] == '1' ? '/' : '~';
      ++i;
    } else if (seg[i] == '%' && i + 2 < seg.size()) {
      auto hex = [](char c) {
        if (c >= '0' && c <= '9')
          return c - '0';
        if (c >= 'a' && c <= 'f')
          return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
          return c - 'A' + 10;
        return -1;
      };
      int hi = hex(seg[i + 1]);
      int lo = hex(seg[i + 2]);
      if (hi < 0 || lo < 0) {
        out += seg[i];
        continue;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += seg[i];
    }
  }
  return out;
}

/// Builds nodes from the schema document.
class compiler {
public:
  compiler(std::vector<node>& nodes, const schema_limits& limits)
    : nodes_(nodes), limits_(limits) {
    // nop
  }

  std::string error;

  int compile(const json_value& v, const std::string& pointer,
              unsigned depth) {
    if (!error.empty())
      return -1;
    if (depth > limits_.max_schema_depth)
      return fail("schema nested too deeply");
    if (nodes_.size() >= limits_.max_subschemas)
      return fail("schema has too many subschemas");
    int index = static_cast<int>(nodes_.size());
    nodes_.emplace_back();
    by_pointer_[pointer] = index;
    if (v.IsBool()) {
      nodes_[index].is_bool = true;
      nodes_[index].bool_value = v.GetBool();
      return index;
    }
    if (!v.IsObject())
      return fail("a schema must be an object or a boolean (at #" + pointer
                  + ")");
    node n;
    for (auto& m : v.GetObject()) {
      std::string_view key{m.name.GetString(), m.name.GetStringLength()};
      if (!keyword(n, key, m.value, pointer, depth))
        return -1;
    }
    nodes_[index] = std::move(n);
    return index;
  }

  /// Resolves $ref texts after everything is compiled.
  bool resolve() {
    for (auto& n : nodes_) {
      if (n.ref_text.empty())
        continue;
      std::string_view ref = n.ref_text;
      if (ref.empty() || ref[0] != '#') {
        error = "only local $ref values are supported, not '" + n.ref_text
                + "'";
        return false;
      }
      ref.remove_prefix(1);
      if (ref.empty() || ref[0] == '/') {
        std::string decoded;
        size_t start = 0;
        while (start < ref.size()) {
          size_t next = ref.find('/', start + 1);
          if (next == std::string_view::npos)
            next = ref.size();
          decoded += '/';
          decoded += pointer_escape(
            pointer_unescape(ref.substr(start + 1, next - start - 1)));
          start = next;
        }
        auto it = by_pointer_.find(decoded);
        if (it == by_pointer_.end()) {
          error = "unresolved $ref '" + n.ref_text + "'";
          return false;
        }
        n.ref = it->second;
      } else {
        auto it = anchors_.find(std::string{ref});
        if (it == anchors_.end()) {
          error = "unresolved $ref '" + n.ref_text + "'";
          return false;
        }
        n.ref = it->second;
      }
    }
    return true;
  }

private:
  int fail(std::string why) {
    if (error.empty())
      error = std::move(why);
    return -1;
  }

  std::optional<size_t> count(const json_value& v, std::string_view key) {
    if (!v.IsNumber() || !is_integral(v) || v.GetDouble() < 0) {
      fail(std::string{key} + " must be a non-negative integer");
      return std::nullopt;
    }
    // a count past what size_t holds is no limit at all (a cast would be
    // undefined; found by tests/fuzz/json_schema_fuzz.cpp)
    if (v.GetDouble() >= 18446744073709551615.0)
      return std::numeric_limits<size_t>::max();
    return static_cast<size_t>(v.GetDouble());
  }

  std::optional<double> number(const json_value& v, std::string_view key) {
    if (!v.IsNumber()) {
      fail(std::string{key} + " must be a number");
      return std::nullopt;
    }
    return v.GetDouble();
  }

  int sub(const json_value& v, const std::string& pointer, unsigned depth) {
    return compile(v, pointer, depth + 1);
  }

  bool sub_list(std::vector<int>& out, const json_value& v,
                std::string_view key, const std::string& pointer,
                unsigned depth) {
    if (!v.IsArray() || v.Empty()) {
      fail(std::string{key} + " must be a non-empty array of schemas");
      return false;
    }
    size_t i = 0;
    for (auto& x : v.GetArray()) {
      int idx = sub(x, pointer + "/" + std::string{key} + "/"
                         + std::to_string(i++),
                    depth);
      if (idx < 0)
        return false;
      out.push_back(idx);
    }
    return true;
  }

  bool keyword(node& n, std::string_view key, const json_value& v,
               const std::string& pointer, unsigned depth) {
    const std::string here = pointer + "/" + pointer_escape(key);
    if (key == "type") {
      auto one = [&](const json_value& t) {
        auto s = as_string(&t);
        if (!s)
          return false;
        if (*s == "null")
          n.types |= t_null;
        else if (*s == "boolean")
          n.types |= t_boolean;
        else if (*s == "object")
          n.types |= t_object;
        else if (*s == "array")
          n.types |= t_array;
        else if (*s == "number")
          n.types |= t_number | t_integer;
        else if (*s == "integer")
          n.types |= t_integer;
        else if (*s == "string")
          n.types |= t_string;
        else
          return false;
        return true;
      };
      bool ok = v.IsArray() ? !v.Empty() : one(v);
      if (v.IsArray())
        for (auto& t : v.GetArray())
          ok = ok && one(t);
      return ok || fail("type must name JSON types") >= 0;
    }
    if (key == "enum") {
      if (!v.IsArray())
        return fail("enum must be an array") >= 0;
      n.enum_values = &v;
      return true;
    }
    if (key == "const") {
      n.const_value = &v;
      return true;
    }
    if (key == "properties") {
      if (!v.IsObject())
        return fail("properties must be an object") >= 0;
      for (auto& m : v.GetObject()) {
        std::string name{m.name.GetString(), m.name.GetStringLength()};
        int idx = sub(m.value, here + "/" + pointer_escape(name), depth);
        if (idx < 0)
          return false;
        n.properties.emplace_back(std::move(name), idx);
      }
      return true;
    }
    if (key == "required") {
      if (!v.IsArray())
        return fail("required must be an array of strings") >= 0;
      for (auto& x : v.GetArray()) {
        auto s = as_string(&x);
        if (!s)
          return fail("required must be an array of strings") >= 0;
        n.required.emplace_back(*s);
      }
      return true;
    }
    if (key == "additionalProperties")
      return (n.additional = sub(v, here, depth)) >= 0;
    if (key == "patternProperties") {
      if (!v.IsObject())
        return fail("patternProperties must be an object") >= 0;
      for (auto& m : v.GetObject()) {
        std::string pat{m.name.GetString(), m.name.GetStringLength()};
        auto re = regex::compile(pat, &error);
        if (!re)
          return false;
        int idx = sub(m.value, here + "/" + pointer_escape(pat), depth);
        if (idx < 0)
          return false;
        n.pattern_properties.emplace_back(std::move(re), idx);
      }
      return true;
    }
    if (key == "propertyNames")
      return (n.property_names = sub(v, here, depth)) >= 0;
    if (key == "minProperties")
      return (n.min_properties = count(v, key)).has_value();
    if (key == "maxProperties")
      return (n.max_properties = count(v, key)).has_value();
    if (key == "dependentRequired") {
      if (!v.IsObject())
        return fail("dependentRequired must be an object") >= 0;
      for (auto& m : v.GetObject()) {
        if (!m.value.IsArray())
          return fail("dependentRequired values must be arrays") >= 0;
        std::vector<std::string> names;
        for (auto& x : m.value.GetArray())
          if (auto s = as_string(&x))
            names.emplace_back(*s);
        n.dependent_required.emplace_back(
          std::string{m.name.GetString(), m.name.GetStringLength()},
          std::move(names));
      }
      return true;
    }
    if (key == "items")
      return (n.items = sub(v, here, depth)) >= 0;
    if (key == "prefixItems")
      return sub_list(n.prefix_items, v, key, pointer, depth);
    if (key == "contains")
      return (n.contains = sub(v, here, depth)) >= 0;
    if (key == "minItems")
      return (n.min_items = count(v, key)).has_value();
    if (key == "maxItems")
      return (n.max_items = count(v, key)).has_value();
    if (key == "minContains")
      return (n.min_contains = count(v, key)).has_value();
    if (key == "maxContains")
      return (n.max_contains = count(v, key)).has_value();
    if (key == "uniqueItems") {
      if (!v.IsBool())
        return fail("uniqueItems must be a boolean") >= 0;
      n.unique_items = v.GetBool();
      return true;
    }
    if (key == "minimum")
      return (n.minimum = number(v, key)).has_value();
    if (key == "maximum")
      return (n.maximum = number(v, key)).has_value();
    if (key == "exclusiveMinimum")
      return (n.exclusive_minimum = number(v, key)).has_value();
    if (key == "exclusiveMaximum")
      return (n.exclusive_maximum = number(v, key)).has_value();
    if (key == "multipleOf") {
      n.multiple_of = number(v, key);
      if (n.multiple_of && *n.multiple_of <= 0)
        return fail("multipleOf must be positive") >= 0;
      return n.multiple_of.has_value();
    }
    if (key == "minLength")
      return (n.min_length = count(v, key)).has_value();
    if (key == "maxLength")
      return (n.max_length = count(v, key)).has_value();
    if (key == "pattern") {
      auto s = as_string(&v);
      if (!s)
        return fail("pattern must be a string") >= 0;
      n.pattern = regex::compile(*s, &error);
      n.pattern_text = std::string{*s};
      return n.pattern != nullptr;
    }
    if (key == "allOf")
      return sub_list(n.all_of, v, key, pointer, depth);
    if (key == "anyOf")
      return sub_list(n.any_of, v, key, pointer, depth);
    if (key == "oneOf")
      return sub_list(n.one_of, v, key, pointer, depth);
    if (key == "not")
      return (n.not_schema = sub(v, here, depth)) >= 0;
    if (key == "if")
      return (n.if_schema = sub(v, here, depth)) >= 0;
    if (key == "then")
      return (n.then_schema = sub(v, here, depth)) >= 0;
    if (key == "else")
      return (n.else_schema = sub(v, here, depth)) >= 0;
    if (key == "$ref") {
      auto s = as_string(&v);
      if (!s)
        return fail("$ref must be a string") >= 0;
      n.ref_text = std::string{*s};
      return true;
    }
    if (key == "$anchor") {
      if (auto s = as_string(&v))
        anchors_[std::string{*s}] = static_cast<int>(
          by_pointer_.at(pointer));
      return true;
    }
    if (key == "$defs" || key == "definitions") {
      if (!v.IsObject())
        return fail(std::string{key} + " must be an object") >= 0;
      for (auto& m : v.GetObject()) {
        std::string name{m.name.GetString(), m.name.GetStringLength()};
        if (sub(m.value, here + "/" + pointer_escape(name), depth) < 0)
          return false;
      }
      return true;
    }
    // Annotations and unknown keywords do not constrain.
    return true;
  }

  std::vector<node>& nodes_;
  const schema_limits& limits_;
  std::unordered_map<std::string, int> by_pointer_;
  std::unordered_map<std::string, int> anchors_;
};

} // namespace

struct json_schema::impl {
  std::string text;
  json_document doc;
  std::vector<node> nodes;
  schema_limits limits;
};

namespace {

/// One validation run.
class validator {
public:
  validator(const std::vector<node>& nodes, const schema_limits& limits,
            std::vector<schema_error>* errors)
    : nodes_(nodes), limits_(limits), errors_(errors) {
    // nop
  }

  bool run(const json_value& instance) {
    return check(0, instance, 0);
  }

private:
  bool collecting() const {
    return errors_ != nullptr && quiet_ == 0;
  }

  bool report(std::string what) {
    if (collecting() && errors_->size() < limits_.max_errors)
      errors_->push_back({path_, std::move(what)});
    return false;
  }

  /// Runs `f` with error collection off (for anyOf, oneOf, not, if).
  template <class F>
  auto quietly(F f) {
    ++quiet_;
    auto res = f();
    --quiet_;
    return res;
  }

  bool out_of_budget() {
    if (++steps_ <= limits_.max_steps)
      return false;
    if (!budget_reported_) {
      budget_reported_ = true;
      if (errors_ != nullptr && errors_->size() < limits_.max_errors)
        errors_->push_back({path_, "validation budget exceeded"});
    }
    return true;
  }

  bool check(int index, const json_value& v, unsigned ref_depth) {
    if (out_of_budget())
      return false;
    const node& n = nodes_[static_cast<size_t>(index)];
    if (n.is_bool)
      return n.bool_value || report("no value is allowed here");
    bool ok = true;
    // Stop early when not collecting: one failure decides.
    auto fold = [&](bool r) {
      ok = ok && r;
      return ok || collecting();
    };
    if (n.ref >= 0) {
      if (ref_depth >= limits_.max_ref_depth)
        return report("$ref nesting too deep");
      if (!fold(check(n.ref, v, ref_depth + 1)))
        return false;
    }
    uint8_t t = type_of(v);
    if (n.types != 0 && (n.types & t) == 0)
      return report("expected " + types_text(n.types) + ", got "
                    + type_name(v));
    if (n.const_value != nullptr && !(*n.const_value == v))
      if (!fold(report("value must equal " + to_json(*n.const_value))))
        return false;
    if (n.enum_values != nullptr) {
      bool found = false;
      for (auto& x : n.enum_values->GetArray())
        if (x == v) {
          found = true;
          break;
        }
      if (!found && !fold(report("value must be one of "
                                 + to_json(*n.enum_values))))
        return false;
    }
    if ((t & t_object) != 0 && !fold(check_object(n, v, ref_depth)))
      return false;
    if ((t & t_array) != 0 && !fold(check_array(n, v, ref_depth)))
      return false;
    if ((t & t_number) != 0 && !fold(check_number(n, v)))
      return false;
    if ((t & t_string) != 0 && !fold(check_string(n, v)))
      return false;
    for (int s : n.all_of)
      if (!fold(check(s, v, ref_depth)))
        return false;
    if (!n.any_of.empty()) {
      bool any = quietly([&] {
        for (int s : n.any_of)
          if (check(s, v, ref_depth))
            return true;
        return false;
      });
      if (!any && !fold(report("value matches none of the anyOf schemas")))
        return false;
    }
    if (!n.one_of.empty()) {
      bool exactly_one = quietly([&] {
        size_t m = 0;
        for (int s : n.one_of)
          if (check(s, v, ref_depth))
            ++m;
        return m == 1;
      });
      if (!exactly_one
          && !fold(report("value must match exactly one of the oneOf "
                          "schemas")))
        return false;
    }
    if (n.not_schema >= 0) {
      bool matched = quietly([&] { return check(n.not_schema, v, ref_depth); });
      if (matched && !fold(report("value matches a schema it must not")))
        return false;
    }
    if (n.if_schema >= 0) {
      bool cond = quietly([&] { return check(n.if_schema, v, ref_depth); });
      int branch = cond ? n.then_schema : n.else_schema;
      if (branch >= 0 && !fold(check(branch, v, ref_depth)))
        return false;
    }
    return ok;
  }

  /// Appends a path segment for the duration of `f`.
  template <class F>
  bool at(std::string_view segment, F f) {
    auto size = path_.size();
    if (collecting()) {
      path_ += '/';
      path_ += pointer_escape(segment);
    }
    bool ok = f();
    path_.resize(size);
    return ok;
  }

  bool check_object(const node& n, const json_value& v, unsigned rd) {
    bool ok = true;
    auto fold = [&](bool r) {
      ok = ok && r;
      return ok || collecting();
    };
    for (auto& name : n.required) {
      if (find_member(&v, name) == nullptr
          && !fold(report("missing required property '" + name + "'")))
        return false;
    }
    size_t members = v.MemberCount();
    if (n.min_properties && members < *n.min_properties
        && !fold(report("needs at least " + std::to_string(*n.min_properties)
                        + " properties")))
      return false;
    if (n.max_properties && members > *n.max_properties
        && !fold(report("allows at most " + std::to_string(*n.max_properties)
                        + " properties")))
      return false;
    for (auto& [name, deps] : n.dependent_required) {
      if (find_member(&v, name) == nullptr)
        continue;
      for (auto& d : deps)
        if (find_member(&v, d) == nullptr
            && !fold(report("property '" + d + "' is required when '" + name
                            + "' is present")))
          return false;
    }
    bool need_walk = n.additional >= 0 || !n.pattern_properties.empty()
                     || n.property_names >= 0 || !n.properties.empty();
    if (!need_walk)
      return ok;
    for (auto& m : v.GetObject()) {
      std::string_view key{m.name.GetString(), m.name.GetStringLength()};
      bool matched = false;
      for (auto& prop : n.properties) {
        auto idx = prop.second; // a copy: lambdas do not capture bindings in clang 14
        if (prop.first == key) {
          matched = true;
          if (!fold(at(key, [&] { return check(idx, m.value, rd); })))
            return false;
          break;
        }
      }
      for (auto& pattern : n.pattern_properties) {
        auto idx = pattern.second;
        if (pattern.first->search(key)) {
          matched = true;
          if (!fold(at(key, [&] { return check(idx, m.value, rd); })))
            return false;
        }
      }
      if (!matched && n.additional >= 0) {
        const node& add = nodes_[static_cast<size_t>(n.additional)];
        if (add.is_bool && !add.bool_value) {
          if (!fold(report("property '" + std::string{key}
                           + "' is not allowed")))
            return false;
        } else if (!fold(at(key, [&] {
                     return check(n.additional, m.value, rd);
                   }))) {
          return false;
        }
      }
      if (n.property_names >= 0) {
        json_value name_value(rapidjson::StringRef(m.name.GetString(),
                                                   m.name.GetStringLength()));
        if (!fold(at(key, [&] {
              return check(n.property_names, name_value, rd);
            })))
          return false;
      }
    }
    return ok;
  }

  bool check_array(const node& n, const json_value& v, unsigned rd) {
    bool ok = true;
    auto fold = [&](bool r) {
      ok = ok && r;
      return ok || collecting();
    };
    size_t size = v.Size();
    if (n.min_items && size < *n.min_items
        && !fold(report("needs at least " + std::to_string(*n.min_items)
                        + " items")))
      return false;
    if (n.max_items && size > *n.max_items
        && !fold(report("allows at most " + std::to_string(*n.max_items)
                        + " items")))
      return false;
    for (size_t i = 0; i < size; ++i) {
      int idx = i < n.prefix_items.size() ? n.prefix_items[i] : n.items;
      if (idx < 0)
        continue;
      if (!fold(at(std::to_string(i), [&] {
            return check(idx, v[static_cast<rapidjson::SizeType>(i)], rd);
          })))
        return false;
    }
    if (n.contains >= 0) {
      size_t hits = quietly([&] {
        size_t h = 0;
        for (auto& x : v.GetArray())
          if (check(n.contains, x, rd))
            ++h;
        return h;
      });
      size_t lo = n.min_contains.value_or(1);
      if (hits < lo
          && !fold(report("needs at least " + std::to_string(lo)
                          + " items matching contains")))
        return false;
      if (n.max_contains && hits > *n.max_contains
          && !fold(report("allows at most "
                          + std::to_string(*n.max_contains)
                          + " items matching contains")))
        return false;
    }
    if (n.unique_items) {
      for (size_t i = 0; i < size; ++i)
        for (size_t j = i + 1; j < size; ++j) {
          if (out_of_budget())
            return false;
          if (v[static_cast<rapidjson::SizeType>(i)]
              == v[static_cast<rapidjson::SizeType>(j)])
            return fold(report("items must be unique"));
        }
    }
    return ok;
  }

  bool check_number(const node& n, const json_value& v) {
    double d = v.GetDouble();
    auto num = [](double x) {
      std::string s = std::to_string(x);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.')
        s.pop_back();
      return s;
    };
    if (n.minimum && d < *n.minimum)
      return report("must be >= " + num(*n.minimum));
    if (n.maximum && d > *n.maximum)
      return report("must be <= " + num(*n.maximum));
    if (n.exclusive_minimum && d <= *n.exclusive_minimum)
      return report("must be > " + num(*n.exclusive_minimum));
    if (n.exclusive_maximum && d >= *n.exclusive_maximum)
      return report("must be < " + num(*n.exclusive_maximum));
    if (n.multiple_of) {
      double q = d / *n.multiple_of;
      if (std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q)))
        return report("must be a multiple of " + num(*n.multiple_of));
    }
    return true;
  }

  bool check_string(const node& n, const json_value& v) {
    std::string_view s{v.GetString(), v.GetStringLength()};
    if (n.min_length || n.max_length) {
      size_t len = utf8_length(s);
      if (n.min_length && len < *n.min_length)
        return report("must be at least " + std::to_string(*n.min_length)
                      + " characters");
      if (n.max_length && len > *n.max_length)
        return report("must be at most " + std::to_string(*n.max_length)
                      + " characters");
    }
    if (n.pattern && !n.pattern->search(s))
      return report("must match pattern " + n.pattern_text);
    return true;
  }

  const std::vector<node>& nodes_;
  const schema_limits& limits_;
  std::vector<schema_error>* errors_;
  std::string path_;
  size_t steps_ = 0;
  int quiet_ = 0;
  bool budget_reported_ = false;
};

} // namespace

json_schema::json_schema(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

json_schema::~json_schema() = default;
json_schema::json_schema(json_schema&&) noexcept = default;
json_schema& json_schema::operator=(json_schema&&) noexcept = default;

std::optional<json_schema> json_schema::compile(std::string_view schema_json,
                                                std::string* error,
                                                const schema_limits& limits) {
  auto p = std::make_unique<impl>();
  p->text = std::string{schema_json};
  p->limits = limits;
  p->doc.Parse<rapidjson::kParseValidateEncodingFlag>(p->text.data(),
                                                      p->text.size());
  if (p->doc.HasParseError()) {
    if (error != nullptr)
      *error = "schema is not valid JSON";
    return std::nullopt;
  }
  compiler c{p->nodes, p->limits};
  c.compile(p->doc, "", 0);
  if (c.error.empty())
    c.resolve();
  if (!c.error.empty()) {
    if (error != nullptr)
      *error = c.error;
    return std::nullopt;
  }
  return json_schema{std::move(p)};
}

std::vector<schema_error> json_schema::validate(const json_value& instance) const {
  std::vector<schema_error> errors;
  validator v{impl_->nodes, impl_->limits, &errors};
  if (!v.run(instance) && errors.empty())
    errors.push_back({"", "value does not match the schema"});
  return errors;
}

bool json_schema::accepts(const json_value& instance) const {
  validator v{impl_->nodes, impl_->limits, nullptr};
  return v.run(instance);
}

const std::string& json_schema::text() const noexcept {
  return impl_->text;
}

std::string json_schema::describe(const std::vector<schema_error>& errors) {
  std::string out;
  for (auto& e : errors) {
    if (!out.empty())
      out += "; ";
    out += "at ";
    out += e.path.empty() ? "/" : e.path;
    out += ": ";
    out += e.message;
  }
  return out;
}

} // namespace mcpvisor::protocol
