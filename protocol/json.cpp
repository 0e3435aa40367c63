#include "protocol/json.hpp"

#include <algorithm>
#include <vector>

namespace mcpvisor::protocol {

std::string to_json(const json_value& v) {
  std::string out;
  append_json(out, v);
  return out;
}

void append_json(std::string& out, const json_value& v) {
  string_sink sink{out};
  json_writer w{sink};
  v.Accept(w);
}

namespace {

void key(json_writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

} // namespace

void write_string(json_writer& w, std::string_view k, std::string_view value) {
  key(w, k);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_string_if(json_writer& w, std::string_view k, std::string_view value) {
  if (!value.empty())
    write_string(w, k, value);
}

void write_uint(json_writer& w, std::string_view k, uint64_t value) {
  key(w, k);
  w.Uint64(value);
}

void write_int(json_writer& w, std::string_view k, int64_t value) {
  key(w, k);
  w.Int64(value);
}

void write_double(json_writer& w, std::string_view k, double value) {
  key(w, k);
  w.Double(value);
}

void write_bool(json_writer& w, std::string_view k, bool value) {
  key(w, k);
  w.Bool(value);
}

void write_strings(json_writer& w, std::string_view k,
                   const std::vector<std::string>& values) {
  key(w, k);
  w.StartArray();
  for (auto& v : values)
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  w.EndArray();
}

void append_quoted(std::string& out, std::string_view text) {
  // Most texts (keys, names, versions) need no escape: copied as they are,
  // which is what the writer below would write for them.
  bool plain = std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  });
  if (plain) {
    out.reserve(out.size() + text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return;
  }
  string_sink sink{out};
  json_writer w{sink};
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::optional<json_document> parse_json(std::string_view text) {
  json_document doc;
  // iterative: its depth lives on the heap, so text nested as deep as its
  // length (an admin body, an upstream's message) cannot exhaust a stack
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
    text.data(), text.size());
  if (doc.HasParseError())
    return std::nullopt;
  return doc;
}

const json_value* find_member(const json_value* obj, std::string_view key) {
  if (obj == nullptr || !obj->IsObject())
    return nullptr;
  auto it = obj->FindMember(
    json_value(rapidjson::StringRef(key.data(),
                                    static_cast<rapidjson::SizeType>(key.size()))));
  return it == obj->MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string_view> as_string(const json_value* v) {
  if (v == nullptr || !v->IsString())
    return std::nullopt;
  return std::string_view{v->GetString(), v->GetStringLength()};
}

namespace {

void write_canonical(json_writer& w, const json_value& v) {
  if (v.IsObject()) {
    std::vector<const json_value::Member*> members;
    members.reserve(v.MemberCount());
    for (auto& m : v.GetObject())
      members.push_back(&m);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return std::string_view{a->name.GetString(), a->name.GetStringLength()}
             < std::string_view{b->name.GetString(), b->name.GetStringLength()};
    });
    w.StartObject();
    for (auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      write_canonical(w, m->value);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (auto& x : v.GetArray())
      write_canonical(w, x);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

} // namespace

std::string canonical_json(const json_value& v) {
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  write_canonical(w, v);
  return out;
}

namespace {

/// Forwards SAX events to a document, asking it to copy every string.
class copying_handler {
public:
  explicit copying_handler(json_document& doc) : doc_(doc) {
    // nop
  }
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return doc_.RawNumber(s, n, true);
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return doc_.String(s, n, true);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    return doc_.Key(s, n, true);
  }
  bool StartObject() { return doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return doc_.EndObject(n); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc_.EndArray(n); }

private:
  json_document& doc_;
};

} // namespace

json_value deep_copy(const json_value& v, json_allocator& alloc) {
  json_document doc(&alloc, 256, &heap_allocator());
  auto generate = [&v](json_document& d) {
    copying_handler h{d};
    return v.Accept(h);
  };
  doc.Populate(generate);
  json_value out;
  out.Swap(doc); // the value's storage lives in `alloc`, not in `doc`
  return out;
}

json_document copy_document(const json_value& v) {
  json_document doc;
  json_value copy = deep_copy(v, doc.GetAllocator());
  static_cast<json_value&>(doc).Swap(copy);
  return doc;
}

rapidjson::CrtAllocator& heap_allocator() noexcept {
  static rapidjson::CrtAllocator heap;
  return heap;
}

} // namespace mcpvisor::protocol
