#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/catalog.hpp"

/// The built-in sets of tools, resources and prompts the binary loads by
/// name (`--tools default|conformance|drill`). Written against the public
/// tool API (protocol/catalog.hpp) only, as a user's own tools are.
namespace mcpvisor::tools {

using protocol::periodic_task;

struct tool_set_options {
  /// Directory the default set serves as file resources; empty: none.
  std::string files_root;
};

struct tool_set {
  std::string name;
  std::vector<periodic_task> periodic;
};

/// Fills `cat` with the set called `name`; nullopt if there is no such set
/// or a definition was refused (the error goes to `error`).
std::optional<tool_set> load_tool_set(std::string_view name,
                                      protocol::catalog& cat,
                                      const tool_set_options& opts,
                                      std::string* error = nullptr);

/// The fixture the official conformance suite expects, behaving as its
/// scenario sources describe.
std::optional<std::string> add_conformance_set(protocol::catalog& cat,
                                               tool_set& set);

/// A small useful set: echo, add, a slow tool with progress and
/// cancellation, the time, a prompt, and the files under a root.
std::optional<std::string> add_default_set(protocol::catalog& cat,
                                           tool_set& set,
                                           const tool_set_options& opts);

/// The default set plus `crash` (restarts the caller's session), `sleep`
/// (read-only, slow) and `bump` (neither read-only nor idempotent), for
/// chaos drills and crash-recovery tests.
std::optional<std::string> add_drill_set(protocol::catalog& cat,
                                         tool_set& set,
                                         const tool_set_options& opts);

/// A read-only file-system resource provider rooted at `root`: a template
/// `file://{+path}` whose reads never leave the root (no `..`, encoded
/// forms, absolute paths elsewhere, or symlinks pointing out), and one
/// listed resource per regular file (up to `max_listed`); and the tool
/// `file_hash` (SHA-256 of one of them, with progress, a task when the
/// client allows).
std::optional<std::string> add_file_resources(protocol::catalog& cat,
                                              const std::string& root,
                                              size_t max_listed = 1000);

} // namespace mcpvisor::tools
