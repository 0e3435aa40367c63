#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

/// MCP protocol revisions this server speaks and how it picks one.
namespace mcpvisor::protocol {

enum class revision : uint8_t {
  v2024_11_05,
  v2025_03_26,
  v2025_06_18,
  v2025_11_25,
  v2026_07_28,
};

/// Every revision served, oldest first.
constexpr std::array<revision, 5> all_revisions{
  revision::v2024_11_05, revision::v2025_03_26, revision::v2025_06_18,
  revision::v2025_11_25, revision::v2026_07_28};

/// The newest revision that uses initialize and sessions.
constexpr revision latest_session_revision = revision::v2025_11_25;

/// The newest revision; stateless.
constexpr revision latest_revision = revision::v2026_07_28;

/// "2025-11-25" and so on.
std::string_view to_string(revision r) noexcept;

/// The revision named by `text`, if this server supports it.
std::optional<revision> parse_revision(std::string_view text) noexcept;

/// True for 2026-07-28 and later: per-request `_meta`, no sessions.
constexpr bool is_stateless(revision r) noexcept {
  return r >= revision::v2026_07_28;
}

/// Version negotiation for `initialize`: the requested revision if this
/// server supports it as a session revision, otherwise the latest session
/// revision (the client then decides whether it can continue).
revision negotiate_session(std::string_view requested) noexcept;

/// True for revisions where a POST answered with SSE starts with a priming
/// event (an id and empty data) and the stream may be closed early.
constexpr bool primes_sse(revision r) noexcept {
  return r >= revision::v2025_11_25;
}

/// Whether a message that arrived without a session id is a stateless
/// 2026-07-28 request: it carries the per-request `_meta` protocol version,
/// or an MCP-Protocol-Version header that is not a session revision. Anything
/// else (an `initialize`, no version at all, or a session revision) follows
/// the session rules.
bool is_stateless_request(std::string_view header_version,
                          bool has_meta_version) noexcept;

} // namespace mcpvisor::protocol
