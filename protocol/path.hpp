#pragma once

#include <optional>
#include <string>
#include <string_view>

/// Lexical path canonicalisation for the file-system resource provider:
/// pure string work, no file-system access (symlinks are the provider's
/// business).
namespace mcpvisor::protocol {

/// Canonical form of an absolute path: "." and empty segments removed, ".."
/// resolved lexically. nullopt for a relative path, a NUL byte, or ".."
/// climbing above "/".
std::optional<std::string> canonical_path(std::string_view absolute);

/// True if `path` is `root` or lies below it (both canonical).
bool path_within(std::string_view root, std::string_view path);

/// The absolute path named by a `file://` URI (host empty or "localhost"),
/// percent-decoded and canonical; nullopt for anything else, including
/// encoded NUL bytes.
std::optional<std::string> file_uri_path(std::string_view uri);

/// `file://` URI for a canonical absolute path.
std::string file_uri(std::string_view path);

} // namespace mcpvisor::protocol
