#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/catalog.hpp"
#include "protocol/content.hpp"
#include "protocol/json.hpp"

/// What mcpvisor needs to front another MCP server (an upstream): turning
/// what it lists into definitions of our catalog, the params of the
/// requests we forward to it, and its results into ours. Pure strings and
/// JSON values in, values out; the runtime (actors/upstream) does the I/O.
namespace mcpvisor::protocol {

/// The params of the `initialize` we send an upstream (2025-11-25, with the
/// client capabilities we can pass on).
std::string upstream_initialize_params(std::string_view client_name,
                                       std::string_view client_version);

/// A tool the upstream lists, as ours: name prefixed, schemas, annotations,
/// icons and `_meta` kept; the handler is left for the caller. An input
/// schema this server cannot compile is replaced by `{"type":"object"}`
/// (the upstream still validates) and said in `note`. nullopt with `why`
/// if the tool cannot be offered (no name, a name that is not valid once
/// prefixed).
std::optional<tool_definition> tool_from_upstream(const json_value& tool,
                                                  std::string_view prefix,
                                                  std::string& why,
                                                  std::string& note);

/// A resource (its URI kept, so clients read it by the URI the upstream
/// gave), a resource template, a prompt (name prefixed).
std::optional<resource_definition> resource_from_upstream(const json_value& r,
                                                          std::string& why);
std::optional<resource_template_definition>
template_from_upstream(const json_value& t, std::string& why);
std::optional<prompt_definition> prompt_from_upstream(const json_value& p,
                                                      std::string_view prefix,
                                                      std::string& why);

/// The params of a forwarded tools/call, resources/read or prompts/get:
/// the upstream's own name (without our prefix), the arguments, and the
/// progress token that carries its progress back to this call.
std::string forward_tool_params(std::string_view name, const json_value& arguments,
                                std::string_view progress_token);
std::string forward_read_params(std::string_view uri);
std::string forward_prompt_params(std::string_view name, const json_value& arguments);

/// An upstream's result as ours. Content blocks and resource contents are
/// passed on as the upstream encoded them.
tool_result tool_result_from_upstream(const json_value& result);
read_result read_result_from_upstream(const json_value& result);
prompt_result prompt_result_from_upstream(const json_value& result);

} // namespace mcpvisor::protocol
