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

void append_quoted(std::string& out, std::string_view text) {
  string_sink sink{out};
  json_writer w{sink};
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::optional<json_document> parse_json(std::string_view text) {
  json_document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
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

json_document copy_document(const json_value& v) {
  json_document doc;
  doc.CopyFrom(v, doc.GetAllocator());
  return doc;
}

} // namespace mcpvisor::protocol
