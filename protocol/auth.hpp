#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// MCP authorization as an OAuth 2.1 resource server: JSON Web Tokens
/// checked against the authorization server's keys (a JWKS), the rules of
/// RFC 9068/8707 for the claims, scopes required per tool, resource or
/// prompt, and the texts of the answers (RFC 6750 challenges, RFC 9728
/// metadata). No I/O: where the keys come from is the transport's business.
namespace mcpvisor::protocol {

class message;

/// Who sent a request, from its access token.
struct principal {
  /// `sub`.
  std::string subject;
  /// `scope` (space-separated) or `scp` (array).
  std::vector<std::string> scopes;
  /// `client_id` or `azp`, if given.
  std::string client;

  bool has_scope(std::string_view s) const;

  /// The scopes, space-separated.
  std::string scope_text() const;
};

using principal_ptr = std::shared_ptr<const principal>;

/// "a b c" → {"a", "b", "c"}.
std::vector<std::string> split_scopes(std::string_view text);

/// Public keys of a JWKS (RFC 7517): RSA, EC P-256 and Ed25519 keys meant
/// for signatures. Immutable once parsed; shared between threads.
class key_set {
public:
  struct key;

  key_set();
  ~key_set();
  key_set(key_set&&) noexcept;
  key_set& operator=(key_set&&) noexcept;

  /// Parses a JWKS document. Keys of other types, curves or uses are
  /// skipped; an error if the document is not a JWKS at all.
  static std::optional<key_set> parse(std::string_view json, std::string& error);

  size_t size() const noexcept;

  /// The key for `kid` (or the only key, when the token names none) that
  /// signs with `alg` (any algorithm if empty).
  const key* find(std::string_view kid, std::string_view alg = {}) const;

private:
  std::vector<std::unique_ptr<key>> keys_;
};

/// What a token must say.
struct token_rules {
  /// `iss`, exactly.
  std::string issuer;
  /// One of `aud` (RFC 8707: this resource's URI).
  std::string audience;
  /// Clock skew allowed for `exp` and `nbf`, in seconds.
  int64_t leeway_s = 60;
};

struct token_check {
  /// The token is good; `who` says whose it is.
  bool ok = false;
  principal who;
  /// Seconds since the epoch when the token expires.
  int64_t expires = 0;
  /// Why not, for `error_description` (never the token itself).
  std::string why;
  /// The token names a key the set does not have (a refresh may find it).
  bool unknown_key = false;
};

/// Checks a compact JWS: RS256, ES256 or EdDSA only (never `none`, never
/// an HMAC), the signature with the key its `kid` names, `iss`, `aud`,
/// `exp` (required), `nbf` and `sub` (required). `now` in seconds since the
/// epoch.
token_check check_token(std::string_view token, const key_set& keys,
                        const token_rules& rules, int64_t now);

/// `Authorization: Bearer TOKEN` → TOKEN; empty if it is not one.
std::string_view bearer_token(std::string_view authorization);

/// Scopes required per request: `tool:NAME`, `resource:URI`,
/// `prompt:NAME`, and `*` for every request.
class scope_rules {
public:
  /// `rule` is "tool:NAME", "resource:URI", "prompt:NAME" or "*".
  void add(std::string rule, std::vector<std::string> scopes);

  /// Parses "RULE=SCOPE[ SCOPE...]" (the command line's form).
  bool add_text(std::string_view text);

  /// "tool:NAME", "resource:URI", "prompt:NAME" or "*".
  static bool valid_rule(std::string_view rule);

  /// The scopes `msg` needs, each once: the `*` rule's, and the rule of
  /// the tool, resource or prompt it calls, reads, subscribes to or
  /// completes. A resource rule names the URI exactly as a client sends it.
  std::vector<std::string> required(const message& msg) const;

  /// The `*` rule's scopes (for requests without a message: GET streams,
  /// DELETE, WebSocket upgrades).
  std::vector<std::string> always() const;

  /// Every scope named in a rule (the metadata's `scopes_supported`).
  std::vector<std::string> all() const;

  bool empty() const noexcept {
    return rules_.empty();
  }

private:
  std::map<std::string, std::vector<std::string>, std::less<>> rules_;
};

/// The `WWW-Authenticate` value of a 401 or 403: `Bearer
/// resource_metadata="..."` with `error`, `error_description` and `scope`
/// where given.
std::string bearer_challenge(std::string_view metadata_url, std::string_view error = {},
                             std::string_view description = {},
                             std::string_view scope = {});

/// RFC 9728 protected resource metadata for `resource`.
std::string resource_metadata(std::string_view resource, std::string_view issuer,
                              const std::vector<std::string>& scopes);

} // namespace mcpvisor::protocol
