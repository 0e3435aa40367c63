// protocol/auth: the parts of the resource server's rules that need no
// signed token (tokens themselves are checked against the real binary by
// tests/node/auth.test.mjs, signed by a real authorization server).

#include <doctest/doctest.h>

#include "protocol/auth.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/seal.hpp"

using namespace mcpvisor::protocol;

namespace {

std::unique_ptr<message> decoded(std::string text) {
  auto m = std::make_unique<message>();
  REQUIRE(!decode(std::move(text), *m));
  return m;
}

std::string token(std::string_view header, std::string_view claims, std::string_view sig = "c2ln") {
  return base64url_encode(header) + "." + base64url_encode(claims) + "." + std::string{sig};
}

} // namespace

TEST_CASE("bearer tokens are read from the Authorization header, scheme in any case") {
  CHECK(bearer_token("Bearer abc.def.ghi") == "abc.def.ghi");
  CHECK(bearer_token("bearer   abc ") == "abc");
  CHECK(bearer_token("Basic YWxpY2U6cGFzcw==").empty());
  CHECK(bearer_token("Bearer").empty());
  CHECK(bearer_token("").empty());
}

TEST_CASE("scopes a request needs: the rule for every request and the rule of its target") {
  scope_rules rules;
  CHECK(rules.add_text("*=mcp"));
  CHECK(rules.add_text("tool:deploy=deploy:write audit"));
  CHECK(rules.add_text("resource:file:///secret.txt=secrets"));
  CHECK(rules.add_text("prompt:p=mcp prompts"));
  CHECK_FALSE(rules.add_text("deploy=x"));   // no kind
  CHECK_FALSE(rules.add_text("tool:deploy=")); // no scope
  CHECK_FALSE(rules.add_text("tool:deploy"));
  auto call = decoded(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy"}})");
  CHECK(rules.required(*call) == std::vector<std::string>{"mcp", "deploy:write", "audit"});
  auto other = decoded(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}})");
  CHECK(rules.required(*other) == std::vector<std::string>{"mcp"});
  auto read = decoded(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///secret.txt"}})");
  CHECK(rules.required(*read) == std::vector<std::string>{"mcp", "secrets"});
  auto prompt = decoded(R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}})");
  CHECK(rules.required(*prompt) == std::vector<std::string>{"mcp", "prompts"});
  auto note = decoded(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  CHECK(rules.required(*note) == std::vector<std::string>{"mcp"});
  auto all = rules.all();
  CHECK(all.size() == 5);
  // completing a prompt's arguments, or listening to a resource, needs
  // what using them needs
  auto complete = decoded(R"({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":""}}})");
  CHECK(rules.required(*complete) == std::vector<std::string>{"mcp", "prompts"});
  auto listen = decoded(R"({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///secret.txt"]}}})");
  CHECK(rules.required(*listen) == std::vector<std::string>{"mcp", "secrets"});
  CHECK(rules.always() == std::vector<std::string>{"mcp"});
  CHECK(scope_rules::valid_rule("tool:x"));
  CHECK_FALSE(scope_rules::valid_rule("tool:"));
  CHECK_FALSE(scope_rules::valid_rule("tools:x"));
}

TEST_CASE("challenges quote their values and drop control characters") {
  CHECK(bearer_challenge("https://h/.well-known/oauth-protected-resource/mcp")
        == R"(Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp")");
  CHECK(bearer_challenge("u", "insufficient_scope", "needs \"x\"\r\n", "a b")
        == R"(Bearer resource_metadata="u", error="insufficient_scope", error_description="needs \"x\"", scope="a b")");
}

TEST_CASE("a key set: not a JWKS, unusable keys skipped, keys named by kid") {
  std::string why;
  CHECK_FALSE(key_set::parse("[]", why));
  CHECK_FALSE(key_set::parse("{\"keys\":{}}", why));
  CHECK_FALSE(key_set::parse(std::string(10000, '['), why));
  // an RSA key too short, an EC key on another curve, an encryption key,
  // a symmetric key, an OKP key that is not Ed25519: none is used
  auto set = key_set::parse(R"({"keys":[
    {"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"},
    {"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},
    {"kty":"OKP","kid":"enc","use":"enc","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty":"oct","kid":"sym","k":"c2VjcmV0"},
    {"kty":"OKP","kid":"x","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty":"OKP","kid":"ed-rs","alg":"RS256","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
  ]})", why);
  REQUIRE(set);
  CHECK(set->size() == 1);
  CHECK(set->find("ed") != nullptr);
  CHECK(set->find("enc") == nullptr);
  CHECK(set->find("") != nullptr); // the only key, for a token without kid
}

TEST_CASE("tokens refused before any key is used") {
  std::string why;
  auto set = key_set::parse(R"({"keys":[{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})", why);
  REQUIRE(set);
  token_rules rules{"https://as", "https://rs/mcp", 60};
  auto claims = R"({"iss":"https://as","aud":"https://rs/mcp","sub":"a","exp":4102444800})";
  CHECK(check_token("", *set, rules, 0).why == "no token");
  CHECK(check_token("a.b", *set, rules, 0).why == "not a signed JWT");
  CHECK(check_token("a.b.c.d", *set, rules, 0).why == "not a signed JWT");
  CHECK(check_token(std::string(20000, 'a'), *set, rules, 0).why == "the token is too long");
  CHECK(check_token(token(R"({"alg":"none"})", claims, ""), *set, rules, 0).why
        == "the signing algorithm is not accepted");
  CHECK(check_token(token(R"({"alg":"HS256","kid":"ed"})", claims), *set, rules, 0).why
        == "the signing algorithm is not accepted");
  auto unknown = check_token(token(R"({"alg":"EdDSA","kid":"other"})", claims), *set, rules, 0);
  CHECK(unknown.unknown_key);
  CHECK(check_token(token(R"({"alg":"RS256","kid":"ed"})", claims), *set, rules, 0).why
        == "the signing algorithm does not match the key");
  CHECK(check_token(token(R"({"alg":"EdDSA","kid":"ed"})", claims, base64url_encode(std::string(64, 'x'))),
                    *set, rules, 0).why
        == "the signature does not verify");
  CHECK_FALSE(check_token(token(R"({"alg":"EdDSA","kid":"ed"})", claims), *set, rules, 0).ok);
  // a key of 1024 bits is not trusted, however its modulus is padded
  auto weak = key_set::parse(R"({"keys":[{"kty":"RSA","kid":"w","e":"AQAB","n":")"
                               + base64url_encode(std::string(128, '\0') + std::string(128, '\xff'))
                               + R"("}]})", why);
  REQUIRE(weak);
  CHECK(weak->size() == 0);
}
