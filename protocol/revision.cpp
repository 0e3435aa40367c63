#include "protocol/revision.hpp"

namespace mcpvisor::protocol {

std::string_view to_string(revision r) noexcept {
  switch (r) {
    case revision::v2024_11_05: return "2024-11-05";
    case revision::v2025_03_26: return "2025-03-26";
    case revision::v2025_06_18: return "2025-06-18";
    case revision::v2025_11_25: return "2025-11-25";
    case revision::v2026_07_28: return "2026-07-28";
  }
  return "2026-07-28";
}

std::optional<revision> parse_revision(std::string_view text) noexcept {
  for (auto r : all_revisions)
    if (to_string(r) == text)
      return r;
  return std::nullopt;
}

revision negotiate_session(std::string_view requested) noexcept {
  auto r = parse_revision(requested);
  if (r && !is_stateless(*r))
    return *r;
  return latest_session_revision;
}

bool is_stateless_request(std::string_view header_version,
                          bool has_meta_version) noexcept {
  if (has_meta_version)
    return true;
  if (header_version.empty())
    return false;
  auto r = parse_revision(header_version);
  return !r || is_stateless(*r);
}

} // namespace mcpvisor::protocol
