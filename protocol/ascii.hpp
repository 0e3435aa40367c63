#pragma once

#include <string>
#include <string_view>

/// Case rules of HTTP and MCP names: ASCII only, no locale, no allocation
/// for a comparison (the request path compares media types and header names
/// on every call).
namespace mcpvisor::protocol {

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

/// `s` in ASCII lower case.
inline std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = ascii_lower(c);
  return out;
}

} // namespace mcpvisor::protocol
