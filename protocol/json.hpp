#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

/// JSON helpers on top of RapidJSON shared by the protocol engine.
namespace mcpvisor::protocol {

using json_value = rapidjson::Value;
using json_document = rapidjson::Document;
using json_allocator = rapidjson::Document::AllocatorType;

/// RapidJSON's plain heap allocator, one for all: an arena or a parser stack
/// that is given none makes one of its own on the heap, once per document.
rapidjson::CrtAllocator& heap_allocator() noexcept;

/// Writes compact JSON into a std::string that it owns (RapidJSON's output
/// stream concept over std::string, no intermediate buffer copy).
class string_sink {
public:
  using Ch = char;

  explicit string_sink(std::string& out) : out_(out) {
    // nop
  }

  void Put(char c) {
    out_.push_back(c);
  }

  void Flush() {
    // nop
  }

  std::string& str() noexcept {
    return out_;
  }

private:
  std::string& out_;
};

using json_writer = rapidjson::Writer<string_sink>;

// -- members of an object being written ---------------------------------------

/// `"key":"value"`.
void write_string(json_writer& w, std::string_view key, std::string_view value);
/// `"key":"value"`, or nothing when `value` is empty.
void write_string_if(json_writer& w, std::string_view key, std::string_view value);
void write_uint(json_writer& w, std::string_view key, uint64_t value);
void write_int(json_writer& w, std::string_view key, int64_t value);
void write_double(json_writer& w, std::string_view key, double value);
void write_bool(json_writer& w, std::string_view key, bool value);
/// `"key":["a","b",...]`.
void write_strings(json_writer& w, std::string_view key,
                   const std::vector<std::string>& values);

/// Compact JSON text of `v`.
std::string to_json(const json_value& v);

/// Appends compact JSON text of `v` to `out`.
void append_json(std::string& out, const json_value& v);

/// Appends `text` as a quoted JSON string.
void append_quoted(std::string& out, std::string_view text);

/// Parses JSON without the limits of a client's message (what the program
/// itself wrote, an admin body, an upstream's message); nullopt if it is
/// not valid JSON. Any depth is parsed without recursion.
std::optional<json_document> parse_json(std::string_view text);

/// Member lookup that tolerates non-objects: null if `obj` is not an object
/// or has no member `key`.
const json_value* find_member(const json_value* obj, std::string_view key);

/// String view of a string value, nullopt otherwise.
std::optional<std::string_view> as_string(const json_value* v);

/// Compact JSON with object members sorted by key, so that two texts of the
/// same value give the same bytes (used for digests).
std::string canonical_json(const json_value& v);

/// Deep copy of `v` into `alloc`, strings included. RapidJSON's CopyFrom
/// shares strings that were parsed in place (they point into the message's
/// text); this copy owns everything, so it outlives the message.
json_value deep_copy(const json_value& v, json_allocator& alloc);

/// Deep copy of `v` into a document of its own (see deep_copy).
json_document copy_document(const json_value& v);

} // namespace mcpvisor::protocol
