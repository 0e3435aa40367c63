#pragma once

#include <functional>

#include "protocol/catalog.hpp"

/// mcpvisor as a library: a program of your own that serves your tools with
/// everything the `mcpvisor` binary has (every flag and the config file,
/// Streamable HTTP and stdio, the admin endpoint, the andon cord, chaos,
/// the supervision tree). Build against the installed library with
/// `pkg-config mcpvisor` (docs/getting-started.md, "Write your own server").
///
///     #include <mcpvisor/mcpvisor.hpp>
///
///     int main(int argc, char** argv) {
///       return mcpvisor::serve(argc, argv, [](mcpvisor::protocol::catalog& cat) {
///         mcpvisor::protocol::tool_definition t;
///         ...
///         cat.add_tool(std::move(t));
///       });
///     }
namespace mcpvisor {

/// Adds the program's own tools, resources and prompts (protocol/catalog.hpp).
using tool_adder = std::function<void(protocol::catalog&)>;

/// Parses the command line (and `--config FILE`), loads the built-in set
/// named by `--tools` (none unless asked for when `add_tools` is given,
/// `default` otherwise) and then `add_tools`, serves until SIGTERM, SIGINT
/// or the end of stdin, and returns the exit status: 0 after a clean stop,
/// 1 when the supervision tree gave up, 2 on a usage error, 3 when handlers
/// were still running past `--drain-timeout`.
int serve(int argc, char** argv, tool_adder add_tools = {});

} // namespace mcpvisor
