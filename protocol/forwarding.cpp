#include "protocol/forwarding.hpp"

#include "protocol/json_schema.hpp"

namespace mcpvisor::protocol {

namespace {

std::string text_of(const json_value* v) {
  auto s = as_string(v);
  return s ? std::string{*s} : std::string{};
}

std::optional<bool> bool_of(const json_value* v) {
  if (v == nullptr || !v->IsBool())
    return std::nullopt;
  return v->GetBool();
}

std::vector<icon> icons_of(const json_value* v) {
  std::vector<icon> out;
  if (v == nullptr || !v->IsArray())
    return out;
  for (auto& i : v->GetArray()) {
    icon ic;
    ic.src = text_of(find_member(&i, "src"));
    if (ic.src.empty())
      continue;
    ic.mime_type = text_of(find_member(&i, "mimeType"));
    ic.theme = text_of(find_member(&i, "theme"));
    if (auto* sizes = find_member(&i, "sizes"); sizes != nullptr && sizes->IsArray())
      for (auto& s : sizes->GetArray())
        if (s.IsString())
          ic.sizes.emplace_back(s.GetString(), s.GetStringLength());
    out.push_back(std::move(ic));
  }
  return out;
}

/// Encoded `_meta`, if it is an object.
std::string meta_of(const json_value& v) {
  auto* m = find_member(&v, "_meta");
  return m != nullptr && m->IsObject() ? to_json(*m) : std::string{};
}

content_annotations annotations_of(const json_value* v) {
  content_annotations a;
  if (v == nullptr || !v->IsObject())
    return a;
  if (auto* aud = find_member(v, "audience"); aud != nullptr && aud->IsArray())
    for (auto& x : aud->GetArray())
      if (x.IsString())
        a.audience.emplace_back(x.GetString(), x.GetStringLength());
  if (auto* p = find_member(v, "priority"); p != nullptr && p->IsNumber())
    a.priority = p->GetDouble();
  a.last_modified = text_of(find_member(v, "lastModified"));
  return a;
}

/// `{"name":..., "arguments":...}` with optional extras.
std::string named_params(std::string_view name, const json_value& arguments,
                         std::string_view extra = {}) {
  std::string p = R"({"name":)";
  append_quoted(p, name);
  p += R"(,"arguments":)";
  p += arguments.IsObject() ? to_json(arguments) : std::string{"{}"};
  p += extra;
  p += '}';
  return p;
}

} // namespace

std::string upstream_initialize_params(std::string_view client_name,
                                       std::string_view client_version) {
  // the capabilities a client of ours may have: what the upstream asks for
  // is passed on to the client session that made the call
  std::string p = R"({"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{"listChanged":false}},"clientInfo":{"name":)";
  append_quoted(p, client_name);
  p += R"(,"version":)";
  append_quoted(p, client_version);
  p += "}}";
  return p;
}

std::optional<tool_definition> tool_from_upstream(const json_value& tool,
                                                  std::string_view prefix,
                                                  std::string& why,
                                                  std::string& note) {
  auto name = as_string(find_member(&tool, "name"));
  if (!name || name->empty()) {
    why = "a tool without a name";
    return std::nullopt;
  }
  tool_definition t;
  t.name = std::string{prefix} + std::string{*name};
  if (auto err = check_tool_name(t.name)) {
    why = *err;
    return std::nullopt;
  }
  t.title = text_of(find_member(&tool, "title"));
  t.description = text_of(find_member(&tool, "description"));
  if (auto* in = find_member(&tool, "inputSchema"); in != nullptr && in->IsObject()) {
    auto text = to_json(*in);
    std::string error;
    if (as_string(find_member(in, "type")) != std::string_view{"object"})
      note = "input schema of '" + std::string{*name} + "' is not an object schema; "
             "not checked here";
    else if (!json_schema::compile(text, &error))
      note = "input schema of '" + std::string{*name} + "' not checked here: " + error;
    else
      t.input_schema = std::move(text);
  }
  if (auto* out = find_member(&tool, "outputSchema"); out != nullptr && out->IsObject()) {
    auto text = to_json(*out);
    if (json_schema::compile(text))
      t.output_schema = std::move(text);
  }
  if (auto* a = find_member(&tool, "annotations"); a != nullptr && a->IsObject()) {
    t.annotations.title = text_of(find_member(a, "title"));
    t.annotations.read_only = bool_of(find_member(a, "readOnlyHint"));
    t.annotations.destructive = bool_of(find_member(a, "destructiveHint"));
    t.annotations.idempotent = bool_of(find_member(a, "idempotentHint"));
    t.annotations.open_world = bool_of(find_member(a, "openWorldHint"));
  }
  t.icons = icons_of(find_member(&tool, "icons"));
  t.meta = meta_of(tool);
  t.exec = execution::inline_call;
  return t;
}

std::optional<resource_definition> resource_from_upstream(const json_value& r,
                                                          std::string& why) {
  resource_definition d;
  d.uri = text_of(find_member(&r, "uri"));
  d.name = text_of(find_member(&r, "name"));
  if (d.uri.empty()) {
    why = "a resource without a uri";
    return std::nullopt;
  }
  if (d.name.empty())
    d.name = d.uri;
  d.title = text_of(find_member(&r, "title"));
  d.description = text_of(find_member(&r, "description"));
  d.mime_type = text_of(find_member(&r, "mimeType"));
  if (auto* size = find_member(&r, "size"); size != nullptr && size->IsUint64())
    d.size = size->GetUint64();
  d.annotations = annotations_of(find_member(&r, "annotations"));
  d.icons = icons_of(find_member(&r, "icons"));
  d.meta = meta_of(r);
  d.exec = execution::inline_call;
  return d;
}

std::optional<resource_template_definition>
template_from_upstream(const json_value& t, std::string& why) {
  resource_template_definition d;
  d.uri_template = text_of(find_member(&t, "uriTemplate"));
  d.name = text_of(find_member(&t, "name"));
  if (d.uri_template.empty()) {
    why = "a resource template without a uriTemplate";
    return std::nullopt;
  }
  if (!uri_template::parse(d.uri_template, &why))
    return std::nullopt;
  if (d.name.empty())
    d.name = d.uri_template;
  d.title = text_of(find_member(&t, "title"));
  d.description = text_of(find_member(&t, "description"));
  d.mime_type = text_of(find_member(&t, "mimeType"));
  d.annotations = annotations_of(find_member(&t, "annotations"));
  d.icons = icons_of(find_member(&t, "icons"));
  d.meta = meta_of(t);
  d.exec = execution::inline_call;
  return d;
}

std::optional<prompt_definition> prompt_from_upstream(const json_value& p,
                                                      std::string_view prefix,
                                                      std::string& why) {
  auto name = as_string(find_member(&p, "name"));
  if (!name || name->empty()) {
    why = "a prompt without a name";
    return std::nullopt;
  }
  prompt_definition d;
  d.name = std::string{prefix} + std::string{*name};
  d.title = text_of(find_member(&p, "title"));
  d.description = text_of(find_member(&p, "description"));
  if (auto* args = find_member(&p, "arguments"); args != nullptr && args->IsArray())
    for (auto& a : args->GetArray()) {
      prompt_argument arg;
      arg.name = text_of(find_member(&a, "name"));
      if (arg.name.empty())
        continue;
      arg.title = text_of(find_member(&a, "title"));
      arg.description = text_of(find_member(&a, "description"));
      arg.required = bool_of(find_member(&a, "required")).value_or(false);
      d.arguments.push_back(std::move(arg));
    }
  d.icons = icons_of(find_member(&p, "icons"));
  d.meta = meta_of(p);
  d.exec = execution::inline_call;
  return d;
}

std::string forward_tool_params(std::string_view name, const json_value& arguments,
                                std::string_view progress_token) {
  std::string extra;
  if (!progress_token.empty()) {
    extra = R"(,"_meta":{"progressToken":)";
    append_quoted(extra, progress_token);
    extra += '}';
  }
  return named_params(name, arguments, extra);
}

std::string forward_read_params(std::string_view uri) {
  std::string p = R"({"uri":)";
  append_quoted(p, uri);
  p += '}';
  return p;
}

std::string forward_prompt_params(std::string_view name, const json_value& arguments) {
  return named_params(name, arguments);
}

tool_result tool_result_from_upstream(const json_value& result) {
  tool_result r;
  if (auto* content = find_member(&result, "content"); content != nullptr && content->IsArray())
    for (auto& c : content->GetArray())
      if (c.IsObject())
        r.content.push_back(content_block::from_json(to_json(c)));
  if (auto* s = find_member(&result, "structuredContent"); s != nullptr && s->IsObject())
    r.structured = to_json(*s);
  r.is_error = bool_of(find_member(&result, "isError")).value_or(false);
  return r;
}

read_result read_result_from_upstream(const json_value& result) {
  read_result r;
  if (auto* contents = find_member(&result, "contents"); contents != nullptr && contents->IsArray())
    for (auto& c : contents->GetArray())
      if (c.IsObject())
        r.contents.push_back(resource_contents::from_json(to_json(c)));
  if (r.contents.empty())
    r.not_found = true;
  return r;
}

prompt_result prompt_result_from_upstream(const json_value& result) {
  prompt_result r;
  r.description = text_of(find_member(&result, "description"));
  if (auto* msgs = find_member(&result, "messages"); msgs != nullptr && msgs->IsArray())
    for (auto& m : msgs->GetArray()) {
      auto* content = find_member(&m, "content");
      if (content == nullptr || !content->IsObject())
        continue;
      r.messages.push_back(prompt_message{text_of(find_member(&m, "role")),
                                          content_block::from_json(to_json(*content))});
    }
  return r;
}

} // namespace mcpvisor::protocol
