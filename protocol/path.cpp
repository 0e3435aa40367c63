#include "protocol/path.hpp"

#include <vector>

#include "protocol/uri_template.hpp"

namespace mcpvisor::protocol {

std::optional<std::string> canonical_path(std::string_view absolute) {
  if (absolute.empty() || absolute[0] != '/')
    return std::nullopt;
  if (absolute.find('\0') != std::string_view::npos)
    return std::nullopt;
  std::vector<std::string_view> segments;
  size_t i = 0;
  while (i < absolute.size()) {
    size_t next = absolute.find('/', i);
    if (next == std::string_view::npos)
      next = absolute.size();
    auto seg = absolute.substr(i, next - i);
    if (seg == "..") {
      if (segments.empty())
        return std::nullopt;
      segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    i = next + 1;
  }
  std::string out;
  for (auto seg : segments) {
    out += '/';
    out += seg;
  }
  return out.empty() ? std::string{"/"} : out;
}

bool path_within(std::string_view root, std::string_view path) {
  if (root == "/")
    return !path.empty() && path[0] == '/';
  if (path.substr(0, root.size()) != root)
    return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

std::optional<std::string> file_uri_path(std::string_view uri) {
  constexpr std::string_view scheme = "file://";
  if (uri.substr(0, scheme.size()) != scheme)
    return std::nullopt;
  auto rest = uri.substr(scheme.size());
  if (rest.substr(0, 9) == "localhost")
    rest.remove_prefix(9);
  if (rest.empty() || rest[0] != '/')
    return std::nullopt; // a remote host, or not absolute
  if (rest.find_first_of("?#") != std::string_view::npos)
    return std::nullopt;
  auto decoded = percent_decode(rest);
  if (!decoded)
    return std::nullopt;
  return canonical_path(*decoded);
}

std::string file_uri(std::string_view path) {
  std::string out = "file://";
  // keep '/' as separators, encode everything else that is not unreserved
  size_t i = 0;
  while (i < path.size()) {
    size_t next = path.find('/', i);
    if (next == std::string_view::npos)
      next = path.size();
    out += percent_encode(path.substr(i, next - i), false);
    if (next < path.size())
      out += '/';
    i = next + 1;
  }
  return out;
}

} // namespace mcpvisor::protocol
