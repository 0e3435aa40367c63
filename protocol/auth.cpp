#include "protocol/auth.hpp"

#include <algorithm>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "protocol/json.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/seal.hpp"

namespace mcpvisor::protocol {

namespace {

/// Tokens and key sets come from outside: parsed iteratively (no deep
/// recursion on hostile nesting) and bounded in size.
constexpr size_t max_token_bytes = 16 * 1024;
constexpr size_t max_jwks_bytes = 1024 * 1024;

std::optional<json_document> parse_untrusted(std::string_view text) {
  json_document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError())
    return std::nullopt;
  return doc;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept {
    EVP_PKEY_free(k);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::optional<std::string> b64_member(const json_value& jwk, std::string_view name) {
  auto text = as_string(find_member(&jwk, name));
  if (!text)
    return std::nullopt;
  return base64url_decode(*text);
}

pkey_ptr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  pkey_ptr out;
  auto* params = OSSL_PARAM_BLD_to_param(bld);
  auto* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1
      && EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1)
    out.reset(key);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return out;
}

pkey_ptr rsa_key(const json_value& jwk) {
  auto n = b64_member(jwk, "n");
  auto e = b64_member(jwk, "e");
  if (!n || !e)
    return nullptr;
  auto* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                         static_cast<int>(n->size()), nullptr);
  auto* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                         static_cast<int>(e->size()), nullptr);
  auto* bld = OSSL_PARAM_BLD_new();
  pkey_ptr out;
  if (bn_n != nullptr && bn_e != nullptr && bld != nullptr
      && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
      && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
    out = from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (out != nullptr && EVP_PKEY_get_bits(out.get()) < 2048)
    return nullptr; // too weak to trust
  return out;
}

pkey_ptr ec_key(const json_value& jwk) {
  if (as_string(find_member(&jwk, "crv")).value_or("") != "P-256")
    return nullptr;
  auto x = b64_member(jwk, "x");
  auto y = b64_member(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32)
    return nullptr;
  std::string point = "\x04" + *x + *y;
  auto* bld = OSSL_PARAM_BLD_new();
  pkey_ptr out;
  if (bld != nullptr
      && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1
      && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size()) == 1)
    out = from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return out;
}

pkey_ptr ed25519_key(const json_value& jwk) {
  if (as_string(find_member(&jwk, "crv")).value_or("") != "Ed25519")
    return nullptr;
  auto x = b64_member(jwk, "x");
  if (!x || x->size() != 32)
    return nullptr;
  return pkey_ptr{EVP_PKEY_new_raw_public_key(
    EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size())};
}

/// JOSE's ES256 signature (r || s, 32 bytes each) as the DER OpenSSL takes.
std::optional<std::string> ecdsa_der(std::string_view sig) {
  if (sig.size() != 64)
    return std::nullopt;
  auto* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
  auto* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  auto* es = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || es == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  if (len <= 0)
    return std::nullopt;
  std::string out{reinterpret_cast<const char*>(der), static_cast<size_t>(len)};
  OPENSSL_free(der);
  return out;
}

bool verify_signature(EVP_PKEY* key, const EVP_MD* md, std::string_view signed_part,
                      std::string_view sig) {
  auto* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1
            && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                                sig.size(),
                                reinterpret_cast<const unsigned char*>(signed_part.data()),
                                signed_part.size())
                 == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok)
    ERR_clear_error(); // a failed check leaves nothing for the thread's next TLS call
  return ok;
}

std::optional<int64_t> as_seconds(const json_value* v) {
  if (v == nullptr || !v->IsNumber())
    return std::nullopt;
  constexpr int64_t limit = 1'000'000'000'000'000; // far beyond any date
  if (v->IsInt64()) {
    auto n = v->GetInt64();
    if (n <= -limit || n >= limit)
      return std::nullopt;
    return n;
  }
  double d = v->GetDouble();
  if (!(d > -1e15 && d < 1e15))
    return std::nullopt;
  return static_cast<int64_t>(d);
}

token_check refuse(std::string why, bool unknown_key = false) {
  token_check out;
  out.why = std::move(why);
  out.unknown_key = unknown_key;
  return out;
}

void append_scopes(std::string_view text, std::vector<std::string>& out) {
  while (!text.empty()) {
    auto sp = text.find(' ');
    if (sp != 0)
      out.emplace_back(text.substr(0, sp));
    if (sp == std::string_view::npos)
      break;
    text.remove_prefix(sp + 1);
  }
}

/// A header's quoted-string value: `"` and `\` escaped, control characters
/// dropped.
void append_quoted_header(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      continue;
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

} // namespace

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  append_scopes(text, out);
  return out;
}

// -- principal -----------------------------------------------------------------

bool principal::has_scope(std::string_view s) const {
  for (auto& mine : scopes)
    if (mine == s)
      return true;
  return false;
}

std::string principal::scope_text() const {
  std::string out;
  for (auto& s : scopes) {
    if (!out.empty())
      out += ' ';
    out += s;
  }
  return out;
}

// -- key_set -------------------------------------------------------------------

struct key_set::key {
  std::string kid;
  /// "RS256", "ES256" or "EdDSA": what the key type allows.
  std::string alg;
  pkey_ptr pkey;
};

key_set::key_set() = default;
key_set::~key_set() = default;
key_set::key_set(key_set&&) noexcept = default;
key_set& key_set::operator=(key_set&&) noexcept = default;

std::optional<key_set> key_set::parse(std::string_view json, std::string& error) {
  if (json.size() > max_jwks_bytes) {
    error = "the key set is larger than 1 MiB";
    return std::nullopt;
  }
  auto doc = parse_untrusted(json);
  auto* keys = doc ? find_member(&*doc, "keys") : nullptr;
  if (keys == nullptr || !keys->IsArray()) {
    error = "not a JWKS (an object with a \"keys\" array)";
    return std::nullopt;
  }
  key_set out;
  for (auto& jwk : keys->GetArray()) {
    if (!jwk.IsObject())
      continue;
    auto use = as_string(find_member(&jwk, "use"));
    if (use && *use != "sig")
      continue;
    auto kty = as_string(find_member(&jwk, "kty")).value_or("");
    auto k = std::make_unique<key>();
    if (kty == "RSA") {
      k->alg = "RS256";
      k->pkey = rsa_key(jwk);
    } else if (kty == "EC") {
      k->alg = "ES256";
      k->pkey = ec_key(jwk);
    } else if (kty == "OKP") {
      k->alg = "EdDSA";
      k->pkey = ed25519_key(jwk);
    }
    // a key that names another algorithm than its type allows is not used
    if (auto alg = as_string(find_member(&jwk, "alg")); alg && *alg != k->alg)
      continue;
    if (k->pkey == nullptr)
      continue;
    k->kid = std::string{as_string(find_member(&jwk, "kid")).value_or("")};
    out.keys_.push_back(std::move(k));
  }
  return out;
}

size_t key_set::size() const noexcept {
  return keys_.size();
}

const key_set::key* key_set::find(std::string_view kid, std::string_view alg) const {
  if (kid.empty())
    return keys_.size() == 1 && (alg.empty() || keys_.front()->alg == alg)
             ? keys_.front().get() : nullptr;
  for (auto& k : keys_)
    if (k->kid == kid && (alg.empty() || k->alg == alg))
      return k.get();
  return nullptr;
}

// -- tokens --------------------------------------------------------------------

token_check check_token(std::string_view token, const key_set& keys,
                        const token_rules& rules, int64_t now) {
  if (token.empty())
    return refuse("no token");
  if (token.size() > max_token_bytes)
    return refuse("the token is too long");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("not a signed JWT");
  auto header_text = base64url_decode(token.substr(0, dot1));
  auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !sig)
    return refuse("not a signed JWT");
  auto header = parse_untrusted(*header_text);
  if (!header || !header->IsObject())
    return refuse("not a signed JWT");
  auto alg = as_string(find_member(&*header, "alg")).value_or("");
  if (alg != "RS256" && alg != "ES256" && alg != "EdDSA")
    return refuse("the signing algorithm is not accepted");
  if (find_member(&*header, "crit") != nullptr)
    return refuse("the token has critical header parameters");
  auto kid = as_string(find_member(&*header, "kid")).value_or("");
  auto* k = keys.find(kid, alg);
  if (k == nullptr && keys.find(kid) != nullptr)
    return refuse("the signing algorithm does not match the key");
  if (k == nullptr)
    return refuse("the token is signed with an unknown key", true);
  auto signed_part = token.substr(0, dot2);
  bool good = false;
  if (alg == "RS256") {
    good = verify_signature(k->pkey.get(), EVP_sha256(), signed_part, *sig);
  } else if (alg == "ES256") {
    auto der = ecdsa_der(*sig);
    good = der && verify_signature(k->pkey.get(), EVP_sha256(), signed_part, *der);
  } else {
    good = verify_signature(k->pkey.get(), nullptr, signed_part, *sig);
  }
  if (!good)
    return refuse("the signature does not verify");
  // the claims, now that they are known to come from the issuer's key
  auto claims = parse_untrusted(*payload_text);
  if (!claims || !claims->IsObject())
    return refuse("the token's claims are not a JSON object");
  if (as_string(find_member(&*claims, "iss")).value_or("") != rules.issuer)
    return refuse("the token was issued by another issuer");
  auto* aud = find_member(&*claims, "aud");
  bool for_us = false;
  if (aud != nullptr && aud->IsString())
    for_us = as_string(aud) == rules.audience;
  else if (aud != nullptr && aud->IsArray())
    for (auto& a : aud->GetArray())
      for_us = for_us || as_string(&a) == rules.audience;
  if (!for_us)
    return refuse("the token is not meant for this resource");
  auto exp = as_seconds(find_member(&*claims, "exp"));
  if (!exp)
    return refuse("the token has no expiry");
  if (now - rules.leeway_s > *exp)
    return refuse("the token expired");
  if (auto* nbf = find_member(&*claims, "nbf"); nbf != nullptr) {
    auto t = as_seconds(nbf);
    if (!t || *t - rules.leeway_s > now)
      return refuse("the token is not valid yet");
  }
  auto sub = as_string(find_member(&*claims, "sub")).value_or("");
  if (sub.empty())
    return refuse("the token names no subject");
  token_check out;
  out.ok = true;
  out.expires = *exp;
  out.who.subject = std::string{sub};
  if (auto scope = as_string(find_member(&*claims, "scope")))
    append_scopes(*scope, out.who.scopes);
  else if (auto* scp = find_member(&*claims, "scp"); scp != nullptr && scp->IsArray())
    for (auto& s : scp->GetArray())
      if (auto text = as_string(&s))
        out.who.scopes.emplace_back(*text);
  auto client = as_string(find_member(&*claims, "client_id"));
  if (!client)
    client = as_string(find_member(&*claims, "azp"));
  out.who.client = std::string{client.value_or("")};
  return out;
}

std::string_view bearer_token(std::string_view authorization) {
  if (authorization.size() < 7)
    return {};
  // the scheme is case-insensitive (RFC 9110 §11.1)
  auto scheme = authorization.substr(0, 7);
  const char* want = "bearer ";
  for (size_t i = 0; i < 7; ++i)
    if ((scheme[i] | 0x20) != want[i])
      return {};
  auto token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  return token;
}

// -- scopes --------------------------------------------------------------------

void scope_rules::add(std::string rule, std::vector<std::string> scopes) {
  auto& mine = rules_[std::move(rule)];
  mine.insert(mine.end(), scopes.begin(), scopes.end());
}

bool scope_rules::valid_rule(std::string_view rule) {
  return rule == "*" || (rule.size() > 5 && rule.substr(0, 5) == "tool:")
         || (rule.size() > 9 && rule.substr(0, 9) == "resource:")
         || (rule.size() > 7 && rule.substr(0, 7) == "prompt:");
}

bool scope_rules::add_text(std::string_view text) {
  auto eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return false;
  auto rule = text.substr(0, eq);
  auto scopes = split_scopes(text.substr(eq + 1));
  if (!valid_rule(rule) || scopes.empty())
    return false;
  add(std::string{rule}, std::move(scopes));
  return true;
}

std::vector<std::string> scope_rules::required(const message& msg) const {
  std::vector<std::string> out;
  if (rules_.empty())
    return out;
  auto need = [&](std::string_view rule) {
    auto i = rules_.find(rule);
    if (i == rules_.end())
      return;
    for (auto& s : i->second)
      if (std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(s);
  };
  need("*");
  if (msg.kind != message_kind::request)
    return out;
  std::string rule;
  if (msg.method == "tools/call")
    rule = "tool:";
  else if (msg.method == "prompts/get")
    rule = "prompt:";
  else if (msg.method == "resources/read" || msg.method == "resources/subscribe")
    rule = "resource:";
  if (!rule.empty()) {
    auto target = as_string(msg.param(rule == "resource:" ? "uri" : "name"));
    if (target) {
      rule += *target;
      need(rule);
    }
  } else if (msg.method == "completion/complete") {
    // completing a prompt's or a template's arguments tells about it
    auto* ref = msg.param("ref");
    auto type = as_string(find_member(ref, "type")).value_or("");
    if (type == "ref/prompt")
      if (auto name = as_string(find_member(ref, "name")))
        need("prompt:" + std::string{*name});
    if (type == "ref/resource")
      if (auto uri = as_string(find_member(ref, "uri")))
        need("resource:" + std::string{*uri});
  } else if (msg.method == "subscriptions/listen") {
    auto* uris = find_member(msg.param("notifications"), "resourceSubscriptions");
    if (uris != nullptr && uris->IsArray())
      for (auto& u : uris->GetArray())
        if (auto uri = as_string(&u))
          need("resource:" + std::string{*uri});
  }
  return out;
}

std::vector<std::string> scope_rules::always() const {
  auto i = rules_.find("*");
  return i != rules_.end() ? i->second : std::vector<std::string>{};
}

std::vector<std::string> scope_rules::all() const {
  std::vector<std::string> out;
  for (auto& [rule, scopes] : rules_)
    for (auto& s : scopes)
      if (std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(s);
  return out;
}

// -- answers -------------------------------------------------------------------

std::string bearer_challenge(std::string_view metadata_url, std::string_view error,
                             std::string_view description, std::string_view scope) {
  std::string out = "Bearer resource_metadata=";
  append_quoted_header(out, metadata_url);
  if (!error.empty()) {
    out += ", error=";
    append_quoted_header(out, error);
  }
  if (!description.empty()) {
    out += ", error_description=";
    append_quoted_header(out, description);
  }
  if (!scope.empty()) {
    out += ", scope=";
    append_quoted_header(out, scope);
  }
  return out;
}

std::string resource_metadata(std::string_view resource, std::string_view issuer,
                              const std::vector<std::string>& scopes) {
  std::string out;
  string_sink sink{out};
  json_writer w{sink};
  w.StartObject();
  write_string(w, "resource", resource);
  w.Key("authorization_servers");
  w.StartArray();
  w.String(issuer.data(), static_cast<rapidjson::SizeType>(issuer.size()));
  w.EndArray();
  w.Key("bearer_methods_supported");
  w.StartArray();
  w.String("header");
  w.EndArray();
  if (!scopes.empty())
    write_strings(w, "scopes_supported", scopes);
  write_string(w, "resource_name", "mcpvisor");
  w.EndObject();
  return out;
}

} // namespace mcpvisor::protocol
