#include "protocol/content.hpp"

#include "protocol/json.hpp"

namespace mcpvisor::protocol {

void write_annotations(json_writer& w, const content_annotations& a) {
  if (a.empty())
    return;
  w.Key("annotations");
  w.StartObject();
  if (!a.audience.empty())
    write_strings(w, "audience", a.audience);
  if (a.priority) {
    w.Key("priority");
    w.Double(*a.priority);
  }
  write_string_if(w, "lastModified", a.last_modified);
  w.EndObject();
}

namespace {

std::string media(const char* type, std::string_view data,
                  std::string_view mime, const content_annotations& a) {
  std::string out;
  out.reserve(48 + data.size());
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "type", type);
  write_string(w, "data", data);
  write_string(w, "mimeType", mime);
  write_annotations(w, a);
  w.EndObject();
  return out;
}

std::string embedded(std::string_view uri, std::string_view mime,
                     const char* field, std::string_view value,
                     const content_annotations& a) {
  std::string out;
  out.reserve(64 + value.size());
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "type", "resource");
  w.Key("resource");
  w.StartObject();
  write_string(w, "uri", uri);
  if (!mime.empty())
    write_string(w, "mimeType", mime);
  write_string(w, field, value);
  w.EndObject();
  write_annotations(w, a);
  w.EndObject();
  return out;
}

} // namespace

content_block content_block::text(std::string_view text, const content_annotations& a) {
  std::string out;
  out.reserve(24 + text.size());
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "type", "text");
  write_string(w, "text", text);
  write_annotations(w, a);
  w.EndObject();
  return content_block{std::move(out)};
}

content_block content_block::image(std::string_view base64, std::string_view mime_type,
                       const content_annotations& a) {
  return content_block{media("image", base64, mime_type, a)};
}

content_block content_block::audio(std::string_view base64, std::string_view mime_type,
                       const content_annotations& a) {
  return content_block{media("audio", base64, mime_type, a)};
}

content_block content_block::resource_link(std::string_view uri, std::string_view name,
                               std::string_view mime_type,
                               std::string_view description) {
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "type", "resource_link");
  write_string(w, "uri", uri);
  write_string(w, "name", name);
  if (!mime_type.empty())
    write_string(w, "mimeType", mime_type);
  if (!description.empty())
    write_string(w, "description", description);
  w.EndObject();
  return content_block{std::move(out)};
}

content_block content_block::embedded_text(std::string_view uri,
                               std::string_view mime_type,
                               std::string_view text, const content_annotations& a) {
  return content_block{embedded(uri, mime_type, "text", text, a)};
}

content_block content_block::embedded_blob(std::string_view uri,
                               std::string_view mime_type,
                               std::string_view base64, const content_annotations& a) {
  return content_block{embedded(uri, mime_type, "blob", base64, a)};
}

tool_result tool_result::text(std::string_view text) {
  tool_result r;
  r.content.push_back(content_block::text(text));
  return r;
}

tool_result tool_result::error(std::string_view text) {
  tool_result r = tool_result::text(text);
  r.is_error = true;
  return r;
}

namespace {

std::string contents_json(std::string_view uri, std::string_view mime,
                          const char* field, std::string_view value) {
  std::string out;
  out.reserve(48 + uri.size() + value.size());
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "uri", uri);
  if (!mime.empty())
    write_string(w, "mimeType", mime);
  write_string(w, field, value);
  w.EndObject();
  return out;
}

} // namespace

resource_contents resource_contents::text(std::string_view uri,
                                          std::string_view mime_type,
                                          std::string_view text) {
  return resource_contents{contents_json(uri, mime_type, "text", text)};
}

resource_contents resource_contents::blob(std::string_view uri,
                                          std::string_view mime_type,
                                          std::string_view base64) {
  return resource_contents{contents_json(uri, mime_type, "blob", base64)};
}

} // namespace mcpvisor::protocol
