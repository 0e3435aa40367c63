#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/call_context.hpp"
#include "protocol/content.hpp"
#include "protocol/json_schema.hpp"
#include "protocol/uri_template.hpp"

/// The C++ API tool authors write against: definitions of tools, resources,
/// resource templates and prompts, collected in a catalog that the engine
/// serves in every revision.
namespace mcpvisor::protocol {

/// Where a handler runs. `worker`: on the runtime's worker pool, off the
/// session's mailbox, so it may block, sleep and take its time (the
/// default). `inline_call`: on the session actor itself, for cheap handlers
/// that never block (an echo); it saves a thread hop.
enum class execution : uint8_t { worker, inline_call };

/// Whether a tools/call runs as a task of the tasks extension
/// (io.modelcontextprotocol/tasks, 2026-07-28 requests only; see
/// docs/protocol-support.md). `optional`: a task when the request declares
/// the extension, an ordinary call otherwise. `required`: a request that
/// does not declare it is refused (-32021).
enum class task_support : uint8_t { forbidden, optional, required };

using tool_handler = std::function<tool_result(call_context&)>;
using read_handler = std::function<read_result(call_context&)>;
using prompt_handler = std::function<prompt_result(call_context&)>;

/// Completion for an argument: values for `prefix`, given the other
/// arguments already filled in.
using completer = std::function<std::vector<std::string>(
  std::string_view prefix, const uri_template::variables& context)>;

struct tool_annotations {
  std::string title;
  std::optional<bool> read_only;
  std::optional<bool> destructive;
  std::optional<bool> idempotent;
  std::optional<bool> open_world;
};

struct tool_definition {
  /// 1-128 of [A-Za-z0-9_.-] (a '/' is also accepted, as SEP-986 allows).
  std::string name;
  std::string title;
  std::string description;
  /// JSON Schema 2020-12 of the arguments; its root must be an object
  /// schema. Properties may carry `x-mcp-header`.
  std::string input_schema = R"({"type":"object"})";
  /// Schema of structuredContent, or empty.
  std::string output_schema;
  tool_annotations annotations;
  std::vector<icon> icons;
  /// Encoded `_meta` object, or empty.
  std::string meta;
  /// Client capabilities the tool cannot work without ("sampling",
  /// "elicitation", "roots"): without them the call is refused before the
  /// handler runs.
  std::vector<std::string> requires_capabilities;
  execution exec = execution::worker;
  /// The call is answered with an error and cancelled after this long.
  std::chrono::milliseconds timeout{std::chrono::minutes{2}};
  /// Shown by tools/list; an unlisted tool can still be called (an
  /// upstream that is down answers with an error naming it).
  bool listed = true;
  task_support tasks = task_support::forbidden;
  /// With `tasks`: the input the handler asks for in a request's first
  /// round is asked for by ordinary multi-round-trip results, and the task
  /// begins with the request that brings the answers (what it asks for
  /// after that, the task asks for).
  bool input_before_task = false;
  tool_handler handler;
};

struct resource_definition {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  std::optional<uint64_t> size;
  content_annotations annotations;
  std::vector<icon> icons;
  std::string meta;
  /// 2026-07-28 caching hint of resources/read.
  cache_hint cache;
  execution exec = execution::worker;
  /// Shown by resources/list (see tool_definition::listed).
  bool listed = true;
  read_handler handler;
};

struct resource_template_definition {
  /// RFC 6570, levels 1 to 3.
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  content_annotations annotations;
  std::vector<icon> icons;
  std::string meta;
  cache_hint cache;
  execution exec = execution::worker;
  bool listed = true;
  read_handler handler;
  /// Whether a URI the template matches names a resource that exists now;
  /// resources/subscribe refuses others with -32002. Unset: every match
  /// exists. Called on the session's thread: it must not block.
  std::function<bool(std::string_view uri)> exists;
  /// Completion per template variable.
  std::map<std::string, completer> complete;
};

struct prompt_argument {
  std::string name;
  std::string title;
  std::string description;
  bool required = false;
};

struct prompt_definition {
  std::string name;
  std::string title;
  std::string description;
  std::vector<prompt_argument> arguments;
  std::vector<icon> icons;
  std::string meta;
  execution exec = execution::inline_call;
  bool listed = true;
  prompt_handler handler;
  /// Completion per argument.
  std::map<std::string, completer> complete;
};

/// Something a tool set wants done every `interval` while the server runs
/// (the conformance set's watched resource changes every few seconds). The
/// runtime runs it on a timer thread of its own.
struct periodic_task {
  std::chrono::milliseconds interval;
  std::function<void()> run;
};

/// Who the server is and how it describes itself.
struct server_info {
  std::string name = "mcpvisor";
  std::string version = "0.1.0";
  std::string title;
  std::string description;
  std::string website_url;
  std::vector<icon> icons;
  std::string instructions;
  /// 2026-07-28 caching hints of list results and server/discover.
  cache_hint list_cache{60000, true};
};

/// What serves the tool and prompt names and the resource URIs no
/// definition claims: an upstream server fronted without a name prefix,
/// which knows better than we do what it offers. Each part is optional.
struct fallback_definition {
  /// Runs for any unknown tool (its arguments are not checked here: the
  /// upstream checks them); `call_context::name()` is the name called.
  tool_handler tool;
  std::chrono::milliseconds timeout{std::chrono::minutes{2}};
  read_handler read;
  prompt_handler prompt;
};

/// Told of every resource subscription a client makes or drops, on the
/// session's thread (it must not block): the runtime passes them on to the
/// upstream that owns the URI.
using subscription_hook = std::function<void(std::string_view uri, bool subscribed)>;

/// A tool parameter mirrored into an `Mcp-Param-{name}` header.
struct header_param {
  /// The {name} part of the header.
  std::string header;
  /// Property names from the root of the arguments to the value.
  std::vector<std::string> path;
  /// "string", "integer" or "boolean".
  std::string type;
};

/// The compiled, immutable view of a catalog at one moment. Readers keep a
/// snapshot for as long as they need it; changes publish a new one.
class catalog_snapshot {
public:
  struct tool_entry {
    tool_definition def;
    json_schema input;
    std::optional<json_schema> output;
    std::vector<header_param> header_params;
    /// Encoded Tool object for tools/list.
    std::string listing;
  };

  struct resource_entry {
    resource_definition def;
    std::string listing;
  };

  struct template_entry {
    resource_template_definition def;
    uri_template tmpl;
    std::string listing;
  };

  struct prompt_entry {
    prompt_definition def;
    std::string listing;
  };

  const tool_entry* find_tool(std::string_view name) const;
  const resource_entry* find_resource(std::string_view uri) const;
  const prompt_entry* find_prompt(std::string_view name) const;

  /// The first template that matches `uri`, with its variables.
  const template_entry* match_template(std::string_view uri,
                                       uri_template::variables& vars) const;
  const template_entry* find_template(std::string_view uri_template) const;

  /// In a deterministic order: the order of definition.
  const std::vector<std::shared_ptr<const tool_entry>>& tools() const noexcept {
    return tools_;
  }
  const std::vector<std::shared_ptr<const resource_entry>>&
  resources() const noexcept {
    return resources_;
  }
  const std::vector<std::shared_ptr<const template_entry>>&
  templates() const noexcept {
    return templates_;
  }
  const std::vector<std::shared_ptr<const prompt_entry>>&
  prompts() const noexcept {
    return prompts_;
  }

  /// Bumped by every change.
  uint64_t version = 0;

  /// The fallback's parts (see fallback_definition), or null.
  const tool_entry* fallback_tool() const noexcept {
    return fallback_tool_.get();
  }
  const prompt_entry* fallback_prompt() const noexcept {
    return fallback_prompt_.get();
  }
  const read_handler* fallback_read() const noexcept {
    return fallback_read_ ? &fallback_read_ : nullptr;
  }

private:
  friend class catalog;

  void index();

  std::vector<std::shared_ptr<const tool_entry>> tools_;
  std::vector<std::shared_ptr<const resource_entry>> resources_;
  std::vector<std::shared_ptr<const template_entry>> templates_;
  std::vector<std::shared_ptr<const prompt_entry>> prompts_;
  std::unordered_map<std::string_view, const tool_entry*> tool_index_;
  std::unordered_map<std::string_view, const resource_entry*> resource_index_;
  std::unordered_map<std::string_view, const prompt_entry*> prompt_index_;
  std::shared_ptr<const tool_entry> fallback_tool_;
  std::shared_ptr<const prompt_entry> fallback_prompt_;
  read_handler fallback_read_;
};

/// What changed, for the runtime to fan out as notifications.
enum class catalog_change : uint8_t {
  tools,
  prompts,
  resources,
  /// One resource's content changed (notifications/resources/updated).
  resource_updated,
};

/// The set of tools, resources and prompts a server offers. Definitions can
/// be added and removed while the server runs (thread-safe); every change
/// publishes a new snapshot and tells the listener, which sends the
/// list-changed and updated notifications.
class catalog {
public:
  explicit catalog(server_info info = {});

  const server_info& info() const noexcept {
    return info_;
  }

  /// Add or replace by name/URI. Returns an error text if the definition is
  /// invalid (name, schema, x-mcp-header, template syntax, no handler).
  std::optional<std::string> add_tool(tool_definition def);
  std::optional<std::string> add_resource(resource_definition def);
  std::optional<std::string>
  add_resource_template(resource_template_definition def);
  std::optional<std::string> add_prompt(prompt_definition def);

  bool remove_tool(std::string_view name);
  bool remove_resource(std::string_view uri);
  bool remove_resource_template(std::string_view uri_template);
  bool remove_prompt(std::string_view name);

  /// Runs `edits` (adds and removes) and tells the listener once per kind
  /// that changed at the end, not once per edit: a client sees one
  /// list_changed for a whole upstream's tools.
  void update(const std::function<void()>& edits);

  /// Tells subscribers of `uri` that its content changed.
  void resource_updated(std::string_view uri);

  /// Sets (or, with an empty definition, clears) what serves unknown
  /// names and URIs.
  void set_fallback(fallback_definition f);

  /// Set once by the runtime; see subscription_hook.
  void set_subscription_hook(subscription_hook h);

  /// A session subscribed to `uri` or dropped it (called by the engine).
  void subscription(std::string_view uri, bool subscribed) const;

  /// The current snapshot (cheap: a shared pointer copy).
  std::shared_ptr<const catalog_snapshot> current() const;

  using listener = std::function<void(catalog_change, std::string_view uri)>;

  /// Receives every change; set once by the runtime before serving.
  void set_listener(listener f);

private:
  template <class F>
  void change(catalog_change what, F edit);

  server_info info_;
  mutable std::mutex mtx_;
  std::shared_ptr<const catalog_snapshot> current_;
  listener listener_;
  subscription_hook subscription_hook_;
  /// Nesting of update(), and the kinds changed meanwhile.
  int updating_ = 0;
  std::array<bool, 3> held_{};
};

/// Checks a tool name (1-128 of [A-Za-z0-9_./-]); an error text if bad.
std::optional<std::string> check_tool_name(std::string_view name);

/// The x-mcp-header parameters of an input schema, or an error text if an
/// annotation breaks the rules (not a token, duplicate, not a primitive,
/// not reachable through `properties` alone).
std::optional<std::string> find_header_params(const json_value& schema,
                                              std::vector<header_param>& out);

} // namespace mcpvisor::protocol
