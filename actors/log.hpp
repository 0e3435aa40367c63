#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

/// Structured log lines: one JSON object per line on stderr (or a file),
/// written with a single write(2) so lines from different threads never
/// interleave. stdout is never touched: it may be the MCP stdio channel.
namespace mcpvisor::log {

enum class level { debug, info, warning, error };

/// A key and a value, rendered as a JSON string member.
using field = std::pair<std::string_view, std::string_view>;

/// Minimum level written; lines below it are dropped.
void set_level(level lvl) noexcept;

/// Writes to this file (appending) instead of stderr; false if it cannot be
/// opened, in which case stderr stays in use.
bool set_file(const std::string& path);

bool enabled(level lvl) noexcept;

/// Writes {"ts":...,"level":...,"msg":...,fields...}.
void write(level lvl, std::string_view msg,
           std::initializer_list<field> fields = {});

inline void info(std::string_view msg, std::initializer_list<field> f = {}) {
  write(level::info, msg, f);
}

inline void warn(std::string_view msg, std::initializer_list<field> f = {}) {
  write(level::warning, msg, f);
}

inline void error(std::string_view msg, std::initializer_list<field> f = {}) {
  write(level::error, msg, f);
}

} // namespace mcpvisor::log
