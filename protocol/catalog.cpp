#include "protocol/catalog.hpp"

#include "protocol/ascii.hpp"

#include <algorithm>
#include <cctype>

namespace mcpvisor::protocol {

namespace {

/// Writes already-encoded JSON as a member value.
void raw(json_writer& w, const char* key, std::string_view json) {
  w.Key(key);
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void write_icons(json_writer& w, const std::vector<icon>& icons) {
  if (icons.empty())
    return;
  w.Key("icons");
  w.StartArray();
  for (auto& i : icons) {
    w.StartObject();
    write_string(w, "src", i.src);
    write_string_if(w, "mimeType", i.mime_type);
    if (!i.sizes.empty())
      write_strings(w, "sizes", i.sizes);
    write_string_if(w, "theme", i.theme);
    w.EndObject();
  }
  w.EndArray();
}

std::optional<std::string> check_meta(std::string_view meta) {
  if (meta.empty())
    return std::nullopt;
  auto doc = parse_json(meta);
  if (!doc || !doc->IsObject())
    return "_meta must be a JSON object";
  return std::nullopt;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0
         || std::string_view{"!#$%&'*+-.^_`|~"}.find(c)
              != std::string_view::npos;
}

/// Finds x-mcp-header anywhere except along pure `properties` chains: such
/// an annotation is invalid.
bool misplaced_header(const json_value& v, bool reachable) {
  if (v.IsArray()) {
    for (auto& x : v.GetArray())
      if (misplaced_header(x, false))
        return true;
    return false;
  }
  if (!v.IsObject())
    return false;
  for (auto& m : v.GetObject()) {
    std::string_view key{m.name.GetString(), m.name.GetStringLength()};
    if (key == "x-mcp-header" && !reachable)
      return true;
    if (key == "properties" && reachable && m.value.IsObject()) {
      for (auto& p : m.value.GetObject())
        if (misplaced_header(p.value, true))
          return true;
      continue;
    }
    if (misplaced_header(m.value, false))
      return true;
  }
  return false;
}

void collect_headers(const json_value& schema, std::vector<std::string>& path,
                     std::vector<header_param>& out, std::string& error) {
  auto* props = find_member(&schema, "properties");
  if (props == nullptr || !props->IsObject())
    return;
  for (auto& p : props->GetObject()) {
    path.emplace_back(p.name.GetString(), p.name.GetStringLength());
    if (auto* h = find_member(&p.value, "x-mcp-header")) {
      auto name = as_string(h);
      auto type = as_string(find_member(&p.value, "type"));
      if (!name || name->empty()
          || !std::all_of(name->begin(), name->end(), is_tchar)) {
        error = "x-mcp-header of '" + path.back()
                + "' must be an HTTP token";
      } else if (!type
                 || (*type != "string" && *type != "integer"
                     && *type != "boolean")) {
        error = "x-mcp-header on '" + path.back()
                + "' needs type string, integer or boolean";
      } else {
        for (auto& existing : out)
          if (iequals(existing.header, *name))
            error = "x-mcp-header '" + std::string{*name}
                    + "' is used twice";
        out.push_back(header_param{std::string{*name}, path, std::string{*type}});
      }
    }
    collect_headers(p.value, path, out, error);
    path.pop_back();
  }
}

} // namespace

std::optional<std::string> check_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return "tool name must be 1 to 128 characters";
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
          || c == '.' || c == '/'))
      return "tool name '" + std::string{name}
             + "' may only contain letters, digits, '_', '-', '.' and '/'";
  return std::nullopt;
}

std::optional<std::string> find_header_params(const json_value& schema,
                                              std::vector<header_param>& out) {
  if (misplaced_header(schema, true))
    return "x-mcp-header is only allowed on properties reached through "
           "'properties' alone";
  std::vector<std::string> path;
  std::string error;
  collect_headers(schema, path, out, error);
  if (!error.empty())
    return error;
  return std::nullopt;
}

// -- snapshot -----------------------------------------------------------------

void catalog_snapshot::index() {
  tool_index_.clear();
  resource_index_.clear();
  prompt_index_.clear();
  for (auto& t : tools_)
    tool_index_[t->def.name] = t.get();
  for (auto& r : resources_)
    resource_index_[r->def.uri] = r.get();
  for (auto& p : prompts_)
    prompt_index_[p->def.name] = p.get();
}

const catalog_snapshot::tool_entry*
catalog_snapshot::find_tool(std::string_view name) const {
  auto it = tool_index_.find(name);
  return it == tool_index_.end() ? nullptr : it->second;
}

const catalog_snapshot::resource_entry*
catalog_snapshot::find_resource(std::string_view uri) const {
  auto it = resource_index_.find(uri);
  return it == resource_index_.end() ? nullptr : it->second;
}

const catalog_snapshot::prompt_entry*
catalog_snapshot::find_prompt(std::string_view name) const {
  auto it = prompt_index_.find(name);
  return it == prompt_index_.end() ? nullptr : it->second;
}

const catalog_snapshot::template_entry*
catalog_snapshot::match_template(std::string_view uri,
                                 uri_template::variables& vars) const {
  for (auto& t : templates_) {
    if (auto m = t->tmpl.match(uri)) {
      vars = std::move(*m);
      return t.get();
    }
  }
  return nullptr;
}

const catalog_snapshot::template_entry*
catalog_snapshot::find_template(std::string_view text) const {
  for (auto& t : templates_)
    if (t->def.uri_template == text)
      return t.get();
  return nullptr;
}

// -- catalog ------------------------------------------------------------------

catalog::catalog(server_info info)
  : info_(std::move(info)),
    current_(std::make_shared<const catalog_snapshot>()) {
  // nop
}

std::shared_ptr<const catalog_snapshot> catalog::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return current_;
}

void catalog::set_listener(listener f) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(f);
}

template <class F>
void catalog::change(catalog_change what, F edit) {
  listener to_call;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto next = std::make_shared<catalog_snapshot>(*current_);
    edit(*next);
    next->version = current_->version + 1;
    next->index();
    current_ = std::move(next);
    if (updating_ > 0) {
      held_[static_cast<size_t>(what)] = true; // told once, at the end
      return;
    }
    to_call = listener_;
  }
  if (to_call)
    to_call(what, {});
}

void catalog::update(const std::function<void()>& edits) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ++updating_;
  }
  std::array<bool, 3> held{};
  listener to_call;
  auto settle = [&] {
    std::lock_guard<std::mutex> guard{mtx_};
    if (--updating_ == 0) {
      held = held_;
      held_ = {};
      to_call = listener_;
    }
  };
  try {
    edits();
  } catch (...) {
    settle();
    throw;
  }
  settle();
  if (!to_call)
    return;
  for (auto what : {catalog_change::tools, catalog_change::prompts,
                    catalog_change::resources})
    if (held[static_cast<size_t>(what)])
      to_call(what, {});
}

namespace {

template <class Vec, class Key>
void replace_or_append(Vec& v, Key key, typename Vec::value_type entry) {
  for (auto& x : v) {
    if (key(*x) == key(*entry)) {
      x = std::move(entry);
      return;
    }
  }
  v.push_back(std::move(entry));
}

} // namespace

std::optional<std::string> catalog::add_tool(tool_definition def) {
  if (auto err = check_tool_name(def.name))
    return err;
  if (!def.handler)
    return "tool '" + def.name + "' has no handler";
  if (auto err = check_meta(def.meta))
    return err;
  std::string why;
  auto input = json_schema::compile(def.input_schema, &why);
  if (!input)
    return "input schema of tool '" + def.name + "': " + why;
  auto doc = parse_json(def.input_schema);
  if (!doc || !doc->IsObject()
      || as_string(find_member(&*doc, "type")) != std::string_view{"object"})
    return "input schema of tool '" + def.name
           + "' must be an object schema (type: object)";
  std::vector<header_param> headers;
  if (auto err = find_header_params(*doc, headers))
    return "tool '" + def.name + "': " + *err;
  std::optional<json_schema> output;
  if (!def.output_schema.empty()) {
    output = json_schema::compile(def.output_schema, &why);
    if (!output)
      return "output schema of tool '" + def.name + "': " + why;
  }
  std::string listing;
  {
    string_sink sink{listing};
    json_writer w{sink};
    w.StartObject();
    write_string(w, "name", def.name);
    write_string_if(w, "title", def.title);
    write_string(w, "description", def.description);
    raw(w, "inputSchema", def.input_schema);
    if (!def.output_schema.empty())
      raw(w, "outputSchema", def.output_schema);
    const auto& a = def.annotations;
    if (!a.title.empty() || a.read_only || a.destructive || a.idempotent
        || a.open_world) {
      w.Key("annotations");
      w.StartObject();
      write_string_if(w, "title", a.title);
      auto flag = [&](const char* key, const std::optional<bool>& v) {
        if (v) {
          w.Key(key);
          w.Bool(*v);
        }
      };
      flag("readOnlyHint", a.read_only);
      flag("destructiveHint", a.destructive);
      flag("idempotentHint", a.idempotent);
      flag("openWorldHint", a.open_world);
      w.EndObject();
    }
    write_icons(w, def.icons);
    if (!def.meta.empty())
      raw(w, "_meta", def.meta);
    w.EndObject();
  }
  auto entry = std::make_shared<catalog_snapshot::tool_entry>(
    catalog_snapshot::tool_entry{std::move(def), std::move(*input),
                                 std::move(output), std::move(headers),
                                 std::move(listing)});
  change(catalog_change::tools, [&](catalog_snapshot& s) {
    replace_or_append(s.tools_,
                      [](const catalog_snapshot::tool_entry& e) -> std::string_view {
                        return e.def.name;
                      },
                      std::shared_ptr<const catalog_snapshot::tool_entry>(entry));
  });
  return std::nullopt;
}

std::optional<std::string> catalog::add_resource(resource_definition def) {
  if (def.uri.empty() || def.name.empty())
    return std::string{"a resource needs a uri and a name"};
  if (!def.handler)
    return "resource '" + def.uri + "' has no handler";
  if (auto err = check_meta(def.meta))
    return err;
  std::string listing;
  {
    string_sink sink{listing};
    json_writer w{sink};
    w.StartObject();
    write_string(w, "uri", def.uri);
    write_string(w, "name", def.name);
    write_string_if(w, "title", def.title);
    write_string_if(w, "description", def.description);
    write_string_if(w, "mimeType", def.mime_type);
    if (def.size) {
      w.Key("size");
      w.Uint64(*def.size);
    }
    write_annotations(w, def.annotations);
    write_icons(w, def.icons);
    if (!def.meta.empty())
      raw(w, "_meta", def.meta);
    w.EndObject();
  }
  auto entry = std::make_shared<const catalog_snapshot::resource_entry>(
    catalog_snapshot::resource_entry{std::move(def), std::move(listing)});
  change(catalog_change::resources, [&](catalog_snapshot& s) {
    replace_or_append(
      s.resources_,
      [](const catalog_snapshot::resource_entry& e) -> std::string_view {
        return e.def.uri;
      },
      entry);
  });
  return std::nullopt;
}

std::optional<std::string>
catalog::add_resource_template(resource_template_definition def) {
  std::string why;
  auto tmpl = uri_template::parse(def.uri_template, &why);
  if (!tmpl)
    return "template '" + def.uri_template + "': " + why;
  if (def.name.empty())
    return std::string{"a resource template needs a name"};
  if (!def.handler)
    return "template '" + def.uri_template + "' has no handler";
  if (auto err = check_meta(def.meta))
    return err;
  std::string listing;
  {
    string_sink sink{listing};
    json_writer w{sink};
    w.StartObject();
    write_string(w, "uriTemplate", def.uri_template);
    write_string(w, "name", def.name);
    write_string_if(w, "title", def.title);
    write_string_if(w, "description", def.description);
    write_string_if(w, "mimeType", def.mime_type);
    write_annotations(w, def.annotations);
    write_icons(w, def.icons);
    if (!def.meta.empty())
      raw(w, "_meta", def.meta);
    w.EndObject();
  }
  auto entry = std::make_shared<const catalog_snapshot::template_entry>(
    catalog_snapshot::template_entry{std::move(def), std::move(*tmpl),
                                     std::move(listing)});
  change(catalog_change::resources, [&](catalog_snapshot& s) {
    replace_or_append(
      s.templates_,
      [](const catalog_snapshot::template_entry& e) -> std::string_view {
        return e.def.uri_template;
      },
      entry);
  });
  return std::nullopt;
}

std::optional<std::string> catalog::add_prompt(prompt_definition def) {
  if (def.name.empty())
    return std::string{"a prompt needs a name"};
  if (!def.handler)
    return "prompt '" + def.name + "' has no handler";
  if (auto err = check_meta(def.meta))
    return err;
  std::string listing;
  {
    string_sink sink{listing};
    json_writer w{sink};
    w.StartObject();
    write_string(w, "name", def.name);
    write_string_if(w, "title", def.title);
    write_string(w, "description", def.description);
    if (!def.arguments.empty()) {
      w.Key("arguments");
      w.StartArray();
      for (auto& a : def.arguments) {
        w.StartObject();
        write_string(w, "name", a.name);
        write_string_if(w, "title", a.title);
        write_string_if(w, "description", a.description);
        w.Key("required");
        w.Bool(a.required);
        w.EndObject();
      }
      w.EndArray();
    }
    write_icons(w, def.icons);
    if (!def.meta.empty())
      raw(w, "_meta", def.meta);
    w.EndObject();
  }
  auto entry = std::make_shared<const catalog_snapshot::prompt_entry>(
    catalog_snapshot::prompt_entry{std::move(def), std::move(listing)});
  change(catalog_change::prompts, [&](catalog_snapshot& s) {
    replace_or_append(
      s.prompts_,
      [](const catalog_snapshot::prompt_entry& e) -> std::string_view {
        return e.def.name;
      },
      entry);
  });
  return std::nullopt;
}

namespace {

template <class Vec, class Key>
bool erase_by(Vec& v, Key key, std::string_view name) {
  auto it = std::find_if(v.begin(), v.end(),
                         [&](auto& e) { return key(*e) == name; });
  if (it == v.end())
    return false;
  v.erase(it);
  return true;
}

} // namespace

bool catalog::remove_tool(std::string_view name) {
  if (!current()->find_tool(name))
    return false;
  change(catalog_change::tools, [&](catalog_snapshot& s) {
    erase_by(s.tools_,
             [](const catalog_snapshot::tool_entry& e) -> std::string_view {
               return e.def.name;
             },
             name);
  });
  return true;
}

bool catalog::remove_resource(std::string_view uri) {
  if (!current()->find_resource(uri))
    return false;
  change(catalog_change::resources, [&](catalog_snapshot& s) {
    erase_by(s.resources_,
             [](const catalog_snapshot::resource_entry& e) -> std::string_view {
               return e.def.uri;
             },
             uri);
  });
  return true;
}

bool catalog::remove_resource_template(std::string_view uri_template) {
  if (!current()->find_template(uri_template))
    return false;
  change(catalog_change::resources, [&](catalog_snapshot& s) {
    erase_by(s.templates_,
             [](const catalog_snapshot::template_entry& e) -> std::string_view {
               return e.def.uri_template;
             },
             uri_template);
  });
  return true;
}

bool catalog::remove_prompt(std::string_view name) {
  if (!current()->find_prompt(name))
    return false;
  change(catalog_change::prompts, [&](catalog_snapshot& s) {
    erase_by(s.prompts_,
             [](const catalog_snapshot::prompt_entry& e) -> std::string_view {
               return e.def.name;
             },
             name);
  });
  return true;
}

void catalog::set_fallback(fallback_definition f) {
  std::shared_ptr<const catalog_snapshot::tool_entry> tool;
  if (f.tool) {
    tool_definition d;
    d.name = "*";
    d.description = "any tool no definition claims";
    d.exec = execution::inline_call;
    d.timeout = f.timeout;
    d.handler = std::move(f.tool);
    auto input = json_schema::compile(d.input_schema);
    tool = std::make_shared<const catalog_snapshot::tool_entry>(
      catalog_snapshot::tool_entry{std::move(d), std::move(*input), std::nullopt, {}, {}});
  }
  std::shared_ptr<const catalog_snapshot::prompt_entry> prompt;
  if (f.prompt) {
    prompt_definition d;
    d.name = "*";
    d.exec = execution::inline_call;
    d.handler = std::move(f.prompt);
    prompt = std::make_shared<const catalog_snapshot::prompt_entry>(
      catalog_snapshot::prompt_entry{std::move(d), {}});
  }
  std::lock_guard<std::mutex> guard{mtx_};
  auto next = std::make_shared<catalog_snapshot>(*current_);
  next->fallback_tool_ = std::move(tool);
  next->fallback_prompt_ = std::move(prompt);
  next->fallback_read_ = std::move(f.read);
  next->version = current_->version + 1;
  next->index();
  current_ = std::move(next);
}

void catalog::set_subscription_hook(subscription_hook h) {
  std::lock_guard<std::mutex> guard{mtx_};
  subscription_hook_ = std::move(h);
}

void catalog::subscription(std::string_view uri, bool subscribed) const {
  subscription_hook hook;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    hook = subscription_hook_;
  }
  if (hook)
    hook(uri, subscribed);
}

void catalog::resource_updated(std::string_view uri) {
  listener to_call;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    to_call = listener_;
  }
  if (to_call)
    to_call(catalog_change::resource_updated, uri);
}

} // namespace mcpvisor::protocol
