#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// RFC 6570 URI templates, levels 1 to 3 (and the `:n` prefix modifier of
/// level 4 for string values): expansion, and matching a URI back to its
/// variables for resources/read.
namespace mcpvisor::protocol {

class uri_template {
public:
  using variables = std::map<std::string, std::string, std::less<>>;

  /// Parses a template; nullopt (and `error`) if it is malformed.
  static std::optional<uri_template> parse(std::string_view text,
                                           std::string* error = nullptr);

  /// Expands with `vars`; undefined variables are omitted as the RFC says.
  std::string expand(const variables& vars) const;

  /// The variables if `uri` is an expansion of this template, else nullopt.
  /// Values are percent-decoded.
  std::optional<variables> match(std::string_view uri) const;

  /// Names of all variables, in order of appearance.
  std::vector<std::string> variable_names() const;

  const std::string& text() const noexcept {
    return text_;
  }

private:
  struct var {
    std::string name;
    size_t prefix = 0; // 0: whole value
    bool explode = false;
  };

  struct part {
    bool literal = true;
    std::string text; // literal text
    char op = 0;      // 0, '+', '#', '.', '/', ';', '?', '&'
    std::vector<var> vars;
  };

  bool match_from(size_t part_index, std::string_view uri, size_t pos,
                  variables& out, int& budget) const;
  bool assign(const part& p, std::string_view text, variables& out) const;

  std::string text_;
  std::vector<part> parts_;
};

/// Percent-encodes everything but unreserved characters (and, when
/// `allow_reserved`, reserved ones and existing %XX triplets).
std::string percent_encode(std::string_view s, bool allow_reserved);

/// Decodes %XX triplets; nullopt on a malformed triplet.
std::optional<std::string> percent_decode(std::string_view s);

} // namespace mcpvisor::protocol
