#include <doctest/doctest.h>

#include "protocol/path.hpp"
#include "protocol/revision.hpp"
#include "protocol/seal.hpp"
#include "protocol/uri_template.hpp"

using namespace mcpvisor::protocol;

TEST_SUITE("uri templates") {

TEST_CASE("expansion follows RFC 6570 levels 1 to 3") {
  uri_template::variables v{{"var", "value"}, {"hello", "Hello World!"},
                            {"path", "/foo/bar"}, {"x", "1024"}, {"y", "768"},
                            {"empty", ""}};
  auto ex = [&](std::string_view t) {
    auto tmpl = uri_template::parse(t);
    REQUIRE(tmpl);
    return tmpl->expand(v);
  };
  CHECK(ex("{var}") == "value");
  CHECK(ex("{hello}") == "Hello%20World%21");
  CHECK(ex("{+hello}") == "Hello%20World!");
  CHECK(ex("{+path}/here") == "/foo/bar/here");
  CHECK(ex("X{#var}") == "X#value");
  CHECK(ex("map?{x,y}") == "map?1024,768");
  CHECK(ex("{+x,hello,y}") == "1024,Hello%20World!,768");
  CHECK(ex("X{.var}") == "X.value");
  CHECK(ex("{/var,x}/here") == "/value/1024/here");
  CHECK(ex("{;x,y,empty}") == ";x=1024;y=768;empty");
  CHECK(ex("{?x,y,empty}") == "?x=1024&y=768&empty=");
  CHECK(ex("?fixed=yes{&x}") == "?fixed=yes&x=1024");
  CHECK(ex("{var:3}") == "val");
  CHECK(ex("{undef}x") == "x");
}

TEST_CASE("matching recovers the variables of an expansion") {
  auto t = uri_template::parse("test://template/{id}/data");
  REQUIRE(t);
  auto m = t->match("test://template/42/data");
  REQUIRE(m);
  CHECK(m->at("id") == "42");
  CHECK_FALSE(t->match("test://template/4/2/data"));
  CHECK_FALSE(t->match("test://other/42/data"));
  auto q = uri_template::parse("search{?q,lang}");
  auto qm = q->match("search?q=a%20b&lang=en");
  REQUIRE(qm);
  CHECK(qm->at("q") == "a b");
  CHECK(qm->at("lang") == "en");
  auto p = uri_template::parse("file://{+path}");
  auto pm = p->match("file:///a/b.txt");
  REQUIRE(pm);
  CHECK(pm->at("path") == "/a/b.txt");
  auto multi = uri_template::parse("{/a,b}");
  auto mm = multi->match("/x/y");
  REQUIRE(mm);
  CHECK(mm->at("a") == "x");
  CHECK(mm->at("b") == "y");
  CHECK(t->variable_names() == std::vector<std::string>{"id"});
}

TEST_CASE("malformed templates are refused") {
  for (auto bad : {"{", "a}", "{}", "{a,}", "{a:x}", "{a b}"}) {
    CAPTURE(bad);
    CHECK_FALSE(uri_template::parse(bad));
  }
}

} // TEST_SUITE

TEST_SUITE("path traversal") {

TEST_CASE("canonical paths resolve dots lexically") {
  CHECK(canonical_path("/a/./b//c/") == "/a/b/c");
  CHECK(canonical_path("/a/b/../c") == "/a/c");
  CHECK(canonical_path("/") == "/");
  CHECK_FALSE(canonical_path("/.."));
  CHECK_FALSE(canonical_path("a/b"));
  CHECK_FALSE(canonical_path(std::string_view{"/a\0b", 4}));
}

TEST_CASE("a corpus of traversal attempts never leaves the root") {
  const std::string root = "/srv/files";
  for (auto uri : {
         "file:///srv/files/../../etc/passwd",
         "file:///srv/files/%2e%2e/%2e%2e/etc/passwd",
         "file:///srv/files/%2E%2E/secret",
         "file:///srv/files/a/../../files-other/x",
         "file:///etc/passwd",
         "file:///srv/filesystem/x",
         "file:///srv/files/..%2f..%2fetc/passwd",
         "file:///srv/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
       }) {
    CAPTURE(uri);
    auto p = file_uri_path(uri);
    CHECK((!p || !path_within(root, *p)));
  }
  for (auto uri : {"file://evil.example.com/srv/files/x",
                   "file:///srv/files/x%00.txt", "file:///srv/files/%zz",
                   "http:///srv/files/x", "file:///srv/files/x?y=1"}) {
    CAPTURE(uri);
    CHECK_FALSE(file_uri_path(uri));
  }
  // double encoding stays a literal name inside the root
  auto dbl = file_uri_path("file:///srv/files/%252e%252e/x");
  REQUIRE(dbl);
  CHECK(*dbl == "/srv/files/%2e%2e/x");
  CHECK(path_within(root, *dbl));
  auto fine = file_uri_path("file://localhost/srv/files/docs/a%20b.md");
  REQUIRE(fine);
  CHECK(*fine == "/srv/files/docs/a b.md");
  CHECK(file_uri("/srv/files/a b.md") == "file:///srv/files/a%20b.md");
}

} // TEST_SUITE

TEST_SUITE("sealed tokens") {

TEST_CASE("base64 is strict") {
  CHECK(base64_encode("Hello") == "SGVsbG8=");
  CHECK(base64_decode("SGVsbG8=") == std::string{"Hello"});
  CHECK_FALSE(base64_decode("SGVsbG8"));      // missing padding
  CHECK_FALSE(base64_decode("SGVs!!!bG8="));  // not in the alphabet
  CHECK_FALSE(base64_decode("SGVsbG9="));     // non-zero padding bits
  CHECK(base64_decode("") == std::string{});
  CHECK(base64url_decode(base64url_encode("\xff\xfe?")) == std::string{"\xff\xfe?"});
}

TEST_CASE("base64url decodes into a fixed buffer and never past it") {
  char out[4] = {'x', 'x', 'x', 'x'};
  CHECK(base64url_decode("SGVs", out, 3) == size_t{3});
  CHECK(std::string_view(out, 3) == "Hel");
  CHECK(out[3] == 'x');
  CHECK_FALSE(base64url_decode("SGVsbG8", out, 4)); // 5 bytes do not fit
  CHECK(out[3] == 'l');                              // wrote only up to 4
  CHECK_FALSE(base64url_decode("SGV/", out, 4));    // not in the alphabet
  CHECK_FALSE(base64url_decode("SGVsb", out, 4));   // a lone character
  CHECK(base64url_decode("", out, 0) == size_t{0});
}

TEST_CASE("a sealed token opens only untouched and for its purpose") {
  sealer s{random_secret()};
  auto token = s.seal("cursor:tools", "100");
  CHECK(s.open("cursor:tools", token) == std::string{"100"});
  CHECK_FALSE(s.open("cursor:prompts", token));
  auto tampered = token;
  tampered[0] = tampered[0] == 'M' ? 'N' : 'M';
  CHECK_FALSE(s.open("cursor:tools", tampered));
  CHECK_FALSE(s.open("cursor:tools", token + "-TAMPERED"));
  CHECK_FALSE(s.open("cursor:tools", "not a token"));
  sealer other{random_secret()};
  CHECK_FALSE(other.open("cursor:tools", token));
}

} // TEST_SUITE

TEST_SUITE("revisions") {

TEST_CASE("version negotiation echoes a supported session revision") {
  CHECK(negotiate_session("2025-11-25") == revision::v2025_11_25);
  CHECK(negotiate_session("2025-06-18") == revision::v2025_06_18);
  CHECK(negotiate_session("2025-03-26") == revision::v2025_03_26);
  CHECK(negotiate_session("2024-11-05") == revision::v2024_11_05);
  CHECK(negotiate_session("1999-01-01") == latest_session_revision);
  CHECK(negotiate_session("2026-07-28") == latest_session_revision);
}

TEST_CASE("the session-or-stateless rule") {
  // _meta protocol version: stateless whatever the header says
  CHECK(is_stateless_request("", true));
  CHECK(is_stateless_request("2025-11-25", true));
  // a 2026 (or unknown) header without _meta: stateless, refused for it
  CHECK(is_stateless_request("2026-07-28", false));
  CHECK(is_stateless_request("v999", false));
  // no version at all, or a session revision: session rules
  CHECK_FALSE(is_stateless_request("", false));
  CHECK_FALSE(is_stateless_request("2025-11-25", false));
  CHECK_FALSE(is_stateless_request("2025-03-26", false));
}

} // TEST_SUITE
