#include "protocol/jsonrpc.hpp"

#include <array>
#include <cstring>
#include <functional>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace mcpvisor::protocol {

// -- request_id ---------------------------------------------------------------

void request_id::write(json_writer& w) const {
  switch (v_.index()) {
    case 1:
      w.Int64(std::get<1>(v_));
      break;
    case 2: {
      const auto& s = std::get<2>(v_);
      w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
      break;
    }
    default:
      w.Null();
  }
}

std::string request_id::to_json() const {
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  write(w);
  return out;
}

std::optional<request_id> request_id::from(const json_value& v) {
  if (v.IsString())
    return request_id{std::string{v.GetString(), v.GetStringLength()}};
  if (v.IsInt64())
    return request_id{v.GetInt64()};
  return std::nullopt;
}

size_t request_id::hash() const noexcept {
  switch (v_.index()) {
    case 1:
      return std::hash<int64_t>{}(std::get<1>(v_));
    case 2:
      return std::hash<std::string>{}(std::get<2>(v_)) ^ 0x5bd1e995;
    default:
      return 0;
  }
}

// -- decoding -----------------------------------------------------------------

namespace {

/// Forwards SAX events to the document while enforcing the limits, so a
/// hostile message is refused as soon as it crosses one, before it is built.
class limiting_handler {
public:
  limiting_handler(json_document& doc, const decode_limits& limits)
    : doc_(doc), limits_(limits) {
    // nop
  }

  const char* violation = nullptr;
  /// The violation is text that is not UTF-8, not a limit.
  bool bad_encoding = false;

  bool Null() {
    return item() && doc_.Null();
  }
  bool Bool(bool b) {
    return item() && doc_.Bool(b);
  }
  bool Int(int i) {
    return item() && doc_.Int(i);
  }
  bool Uint(unsigned u) {
    return item() && doc_.Uint(u);
  }
  bool Int64(int64_t i) {
    return item() && doc_.Int64(i);
  }
  bool Uint64(uint64_t u) {
    return item() && doc_.Uint64(u);
  }
  bool Double(double d) {
    return item() && doc_.Double(d);
  }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool copy) {
    return item() && doc_.RawNumber(str, len, copy);
  }
  bool String(const char* str, rapidjson::SizeType len, bool copy) {
    return item() && string_ok(str, len) && doc_.String(str, len, copy);
  }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) {
    if (!string_ok(str, len))
      return false;
    if (++counts_[depth_ - 1] > limits_.max_object_members)
      return fail("too many members in an object");
    return doc_.Key(str, len, copy);
  }
  bool StartObject() {
    return item() && push() && doc_.StartObject();
  }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() {
    if (!item() || !push())
      return false;
    in_array_[depth_ - 1] = true;
    return doc_.StartArray();
  }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }

private:
  static constexpr unsigned hard_depth = 256;

  bool fail(const char* why) {
    violation = why;
    return false;
  }

  bool string_ok(const char* str, rapidjson::SizeType len) {
    if (len > limits_.max_string_bytes)
      return fail("string too long");
    // RapidJSON decodes an unpaired surrogate escape ("\udc00") into bytes
    // that are not UTF-8; answering with them would not be JSON (found by
    // tests/fuzz/engine_fuzz.cpp). Encoded surrogates start 0xED 0xA0-0xBF.
    for (auto* p = static_cast<const char*>(std::memchr(str, '\xED', len));
         p != nullptr && p + 1 < str + len;
         p = static_cast<const char*>(std::memchr(p + 1, '\xED',
                                                  static_cast<size_t>(str + len - p - 1))))
      if (static_cast<unsigned char>(p[1]) >= 0xA0) {
        bad_encoding = true;
        return fail("an unpaired surrogate escape in a string");
      }
    return true;
  }

  /// Counts an array element (object members are counted by Key).
  bool item() {
    if (depth_ > 0 && in_array_[depth_ - 1]
        && ++counts_[depth_ - 1] > limits_.max_array_items)
      return fail("too many items in an array");
    return true;
  }

  bool push() {
    if (depth_ >= limits_.max_depth || depth_ >= hard_depth)
      return fail("nesting too deep");
    counts_[depth_] = 0;
    in_array_[depth_] = false;
    ++depth_;
    return true;
  }

  json_document& doc_;
  const decode_limits& limits_;
  unsigned depth_ = 0;
  std::array<size_t, hard_depth> counts_{};
  std::array<bool, hard_depth> in_array_{};
};

decode_error invalid(std::string text, request_id id = {}) {
  return decode_error{errc::invalid_request, std::move(text), std::move(id)};
}

} // namespace

message::message()
  : pool_(arena_, sizeof(arena_), 16 * 1024, &heap_allocator()),
    doc_(&pool_, 1024, &heap_allocator()) {
  // nop
}

bool message::wants_progress() const {
  return find_member(meta(), "progressToken") != nullptr;
}

std::optional<decode_error> decode(std::string text, message& out,
                                   const decode_limits& limits) {
  if (text.size() > limits.max_message_bytes)
    return invalid("message larger than "
                   + std::to_string(limits.max_message_bytes) + " bytes");
  // one pass for both: a NUL byte is refused, and text that is all ASCII
  // is valid UTF-8 already, so its strings need not be checked again
  unsigned char any = 0;
  bool nul = false;
  for (char c : text) {
    any |= static_cast<unsigned char>(c);
    nul |= c == '\0';
  }
  if (nul)
    return decode_error{errc::parse_error, "parse error: NUL byte in message",
                        {}};
  bool ascii = (any & 0x80) == 0;
  out.text_ = std::move(text);
  out.size_ = out.text_.size();
  // RapidJSON's UTF-8 validation reads up to three bytes after a lead byte
  // before it looks for the terminator: the buffer must hold them (found by
  // tests/fuzz/jsonrpc_fuzz.cpp)
  out.text_.append(4, '\0');
  out.doc_.SetNull();
  out.pool_.Clear();
  limiting_handler handler{out.doc_, limits};
  rapidjson::ParseResult parsed;
  auto generator = [&](json_document& doc) {
    (void) doc;
    rapidjson::Reader reader{&heap_allocator()};
    rapidjson::InsituStringStream in{out.text_.data()};
    constexpr unsigned flags = rapidjson::kParseInsituFlag;
    parsed = ascii ? reader.Parse<flags>(in, handler)
                   : reader.Parse<flags | rapidjson::kParseValidateEncodingFlag>(in, handler);
    return !parsed.IsError();
  };
  out.doc_.Populate(generator);
  if (!parsed) {
    if (handler.bad_encoding)
      return decode_error{errc::parse_error,
                          std::string{"invalid UTF-8 in message: "}
                            + handler.violation,
                          {}};
    if (handler.violation != nullptr)
      return invalid(std::string{"message exceeds a limit: "}
                     + handler.violation);
    if (parsed.Code() == rapidjson::kParseErrorStringInvalidEncoding)
      return decode_error{errc::parse_error, "invalid UTF-8 in message", {}};
    return decode_error{
      errc::parse_error,
      std::string{"parse error: "} + rapidjson::GetParseError_En(parsed.Code()),
      {}};
  }
  auto& doc = out.doc_;
  if (doc.IsArray())
    return invalid("batches are not supported (one JSON-RPC message per "
                   "request)");
  if (!doc.IsObject())
    return invalid("a JSON-RPC message must be an object");
  auto* version = find_member(&doc, "jsonrpc");
  auto* id_member = find_member(&doc, "id");
  auto* method = find_member(&doc, "method");
  request_id id;
  bool id_ok = true;
  if (id_member != nullptr) {
    if (auto parsed_id = request_id::from(*id_member))
      id = std::move(*parsed_id);
    else
      id_ok = false;
  }
  if (version == nullptr || as_string(version) != std::string_view{"2.0"})
    return invalid("jsonrpc must be \"2.0\"", id);
  if (!id_ok)
    return invalid("id must be a string or an integer");
  out.id = std::move(id);
  out.params = nullptr;
  out.result = nullptr;
  out.error = nullptr;
  out.method = {};
  if (method != nullptr) {
    auto m = as_string(method);
    if (!m || m->empty())
      return invalid("method must be a non-empty string", out.id);
    out.method = *m;
    if (auto* p = find_member(&doc, "params")) {
      if (!p->IsObject())
        return invalid("params must be an object", out.id);
      out.params = p;
    }
    if (find_member(&doc, "result") != nullptr
        || find_member(&doc, "error") != nullptr)
      return invalid("a request cannot carry result or error", out.id);
    out.kind = id_member == nullptr ? message_kind::notification
                                    : message_kind::request;
    return std::nullopt;
  }
  if (id_member == nullptr)
    return invalid("a response needs an id; a request needs a method");
  auto* result = find_member(&doc, "result");
  auto* error = find_member(&doc, "error");
  if ((result == nullptr) == (error == nullptr))
    return invalid("a response carries exactly one of result and error",
                   out.id);
  if (result != nullptr) {
    if (!result->IsObject())
      return invalid("result must be an object", out.id);
    out.kind = message_kind::result;
    out.result = result;
    return std::nullopt;
  }
  if (!error->IsObject() || !find_member(error, "code")
      || !find_member(error, "code")->IsInt() || !as_string(find_member(error, "message")))
    return invalid("error must be an object with an integer code and a "
                   "message",
                   out.id);
  out.kind = message_kind::error;
  out.error = error;
  return std::nullopt;
}

// -- encoding -----------------------------------------------------------------

namespace {

void open_envelope(std::string& out, const request_id* id) {
  out += R"({"jsonrpc":"2.0")";
  if (id != nullptr) {
    out += R"(,"id":)";
    string_sink sink{out};
    json_writer w{sink};
    id->write(w);
  }
}

} // namespace

std::string encode_result(const request_id& id, std::string_view result_json) {
  std::string out;
  out.reserve(40 + result_json.size());
  open_envelope(out, &id);
  out += R"(,"result":)";
  out += result_json;
  out += '}';
  return out;
}

std::string encode_error(const request_id& id, int code,
                         std::string_view text, std::string_view data_json) {
  std::string out;
  out.reserve(80 + text.size() + data_json.size());
  open_envelope(out, &id);
  out += R"(,"error":{"code":)";
  out += std::to_string(code);
  out += R"(,"message":)";
  append_quoted(out, text);
  if (!data_json.empty()) {
    out += R"(,"data":)";
    out += data_json;
  }
  out += "}}";
  return out;
}

std::string encode_notification(std::string_view method,
                                std::string_view params_json) {
  std::string out;
  out.reserve(40 + method.size() + params_json.size());
  open_envelope(out, nullptr);
  out += R"(,"method":)";
  append_quoted(out, method);
  if (!params_json.empty()) {
    out += R"(,"params":)";
    out += params_json;
  }
  out += '}';
  return out;
}

std::string encode_request(const request_id& id, std::string_view method,
                           std::string_view params_json) {
  std::string out;
  out.reserve(60 + method.size() + params_json.size());
  open_envelope(out, &id);
  out += R"(,"method":)";
  append_quoted(out, method);
  out += R"(,"params":)";
  out += params_json.empty() ? std::string_view{"{}"} : params_json;
  out += '}';
  return out;
}

void add_member(std::string& object_json, std::string_view key,
                std::string_view value_json) {
  // object_json ends with '}'; "{}" needs no comma.
  object_json.pop_back();
  if (object_json.size() > 1)
    object_json += ',';
  append_quoted(object_json, key);
  object_json += ':';
  object_json += value_json;
  object_json += '}';
}

} // namespace mcpvisor::protocol
