#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/auth.hpp"
#include "protocol/jsonrpc.hpp"

/// Bearer authentication of the MCP endpoint (MCP authorization, OAuth 2.1
/// resource server): the signing keys from a JWKS file or URL, the check of
/// each request's token, the scopes its method needs, and the binding of a
/// session to the subject that opened it. No Beast in this header.
namespace mcpvisor::transports {

struct auth_config {
  /// `--auth-issuer`: the authorization server (its `iss`).
  std::string issuer;
  /// `--auth-audience`: this resource's URI, which tokens must name in
  /// `aud` (RFC 8707); also the `resource` of the metadata.
  std::string audience;
  /// `--auth-jwks`: a file, or an http(s) URL fetched at start, every
  /// `refresh`, and when a token names an unknown key (at most once per
  /// `min_refresh`).
  std::string jwks;
  std::chrono::seconds refresh{600};
  std::chrono::seconds min_refresh{30};
  /// `--auth-scope RULE=SCOPES` and `[auth.required_scopes]`.
  protocol::scope_rules scopes;
  /// Allowed clock skew for `exp` and `nbf`.
  std::chrono::seconds leeway{60};

  bool enabled() const noexcept {
    return !issuer.empty();
  }
};

class bearer_auth {
public:
  /// `secret` keys the session binding (the cluster's shared secret, so
  /// that every node checks it alike).
  bearer_auth(auth_config cfg, std::array<uint8_t, 32> secret);
  ~bearer_auth();

  bearer_auth(const bearer_auth&) = delete;
  bearer_auth& operator=(const bearer_auth&) = delete;

  /// Loads the keys (a URL that cannot be fetched now is retried in the
  /// background); an error text if the file or the first answer is not a
  /// key set.
  std::optional<std::string> start();

  /// How a request fared: `status` 0 when it may go on (`who` says whose
  /// it is), else 401 or 503 with `challenge` (WWW-Authenticate) and a
  /// JSON-RPC error `body`.
  struct verdict {
    int status = 0;
    protocol::principal_ptr who;
    int64_t expires = 0;
    std::string challenge;
    std::string body;
  };

  /// Checks the `Authorization` header's value.
  verdict check(std::string_view authorization);

  /// 403 for `msg` if `who` lacks a scope it needs (`status` 0 if not).
  verdict authorize(const protocol::message& msg, const protocol::principal& who) const;

  /// 403 if `who` lacks a scope of the `*` rule (a request without a
  /// message: a GET stream, DELETE, a WebSocket upgrade).
  verdict authorize(const protocol::principal& who) const;

  /// The session id as the client sees it: the runtime's id and a tag that
  /// binds it to `who`'s subject.
  std::string bind(std::string_view session, const protocol::principal& who) const;

  /// The runtime's id inside `announced`, if it is bound to `who`'s
  /// subject; nullopt otherwise (another subject's session: 404).
  std::optional<std::string_view> bound(std::string_view announced,
                                        const protocol::principal& who) const;

  /// `/.well-known/oauth-protected-resource` and the form suffixed with
  /// the resource's path.
  bool is_metadata_path(std::string_view path) const;

  /// The RFC 9728 document.
  const std::string& metadata() const noexcept {
    return metadata_;
  }

private:
  verdict authorize(const std::vector<std::string>& needed, const protocol::principal& who,
                    const protocol::request_id& id) const;

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string metadata_;
  std::string metadata_url_;
  std::string metadata_path_;
};

} // namespace mcpvisor::transports
