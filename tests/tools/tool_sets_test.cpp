#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tools/tool_sets.hpp"
#include "tests/protocol/harness.hpp"

using namespace mcpvisor;
using namespace mcpvisor::protocol;
using mcpvisor::test::error_code;
using mcpvisor::test::final_response;
using mcpvisor::test::harness;
using mcpvisor::test::meta2026;
using mcpvisor::test::parse;

namespace {

std::string call(int id, std::string_view tool, std::string_view args = "{}",
                 std::string_view extra = {}) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":{"name":")" + std::string{tool}
         + R"(","arguments":)" + std::string{args} + std::string{extra} + "}}";
}

std::string stateless_call(int id, std::string_view tool, std::string_view caps,
                           std::string_view extra = {}) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id)
         + R"(,"method":"tools/call","params":{"name":")" + std::string{tool}
         + R"(","arguments":{},)" + meta2026(caps) + std::string{extra} + "}}";
}

struct conformance_harness : harness {
  conformance_harness() : harness({}, false) {
    tools::tool_set set;
    REQUIRE_FALSE(tools::add_conformance_set(cat, set));
    CHECK(set.periodic.size() == 1);
  }
};

std::string text(const json_document& d) {
  return d["result"]["content"][0]["text"].GetString();
}

} // namespace

TEST_SUITE("conformance set") {

TEST_CASE("every fixture the suite names is there, described") {
  conformance_harness h;
  auto snap = h.cat.current();
  for (auto name : {"test_simple_text", "test_image_content", "test_audio_content",
                    "test_embedded_resource", "test_multiple_content_types",
                    "test_error_handling", "test_tool_with_logging",
                    "test_tool_with_progress", "test_sampling", "test_elicitation",
                    "test_elicitation_sep1034_defaults",
                    "test_elicitation_sep1330_enums", "test_reconnection",
                    "json_schema_2020_12_tool", "test_missing_capability",
                    "test_streaming_elicitation", "test_logging_tool",
                    "test_input_required_result_elicitation",
                    "test_input_required_result_multi_round"}) {
    CAPTURE(name);
    auto* t = snap->find_tool(name);
    REQUIRE(t != nullptr);
    CHECK_FALSE(t->def.description.empty());
  }
  CHECK(snap->tools().front()->def.name == "test_simple_text");
  for (auto uri : {"test://static-text", "test://static-binary", "test://watched-resource"})
    CHECK(snap->find_resource(uri) != nullptr);
  CHECK(snap->find_template("test://template/{id}/data") != nullptr);
  for (auto p : {"test_simple_prompt", "test_prompt_with_arguments",
                 "test_prompt_with_embedded_resource", "test_prompt_with_image",
                 "test_input_required_result_prompt"})
    CHECK(snap->find_prompt(p) != nullptr);
}

TEST_CASE("content tools return the shapes the scenarios check") {
  conformance_harness h;
  h.init();
  auto img = final_response(h.send(call(1, "test_image_content")));
  CHECK(std::string{img["result"]["content"][0]["mimeType"].GetString()} == "image/png");
  auto audio = final_response(h.send(call(2, "test_audio_content")));
  CHECK(std::string{audio["result"]["content"][0]["mimeType"].GetString()} == "audio/wav");
  auto mixed = final_response(h.send(call(3, "test_multiple_content_types")));
  CHECK(mixed["result"]["content"].Size() == 3);
  auto emb = final_response(h.send(call(4, "test_embedded_resource")));
  CHECK(std::string{emb["result"]["content"][0]["resource"]["uri"].GetString()}
        == "test://embedded-resource");
  auto err = final_response(h.send(call(5, "test_error_handling")));
  CHECK(err["result"]["isError"].GetBool());
}

TEST_CASE("logging and progress tools notify three times") {
  conformance_harness h;
  h.init();
  h.send(R"({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}})");
  auto logs = h.send(call(2, "test_tool_with_logging"));
  CHECK(logs.size() == 4);
  auto progress = h.send(call(3, "test_tool_with_progress", "{}", R"(,"_meta":{"progressToken":"progress-test-1"})"));
  CHECK(progress.size() == 4);
}

TEST_CASE("sampling and elicitation go to the client in a 2025-11-25 session") {
  conformance_harness h;
  h.init("2025-11-25", R"({"sampling":{},"elicitation":{}})");
  auto m = h.send(call(1, "test_sampling", R"({"prompt":"Test prompt"})"));
  REQUIRE(m.size() == 1);
  auto req = parse(m[0].json);
  CHECK(std::string{req["params"]["messages"][0]["content"]["text"].GetString()} == "Test prompt");
  auto r = final_response(h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(req["id"].GetInt64())
                                 + R"(,"result":{"role":"assistant","content":{"type":"text","text":"Paris"},"model":"m","stopReason":"endTurn"}})"));
  CHECK(text(r) == "LLM response: Paris");
  auto e = h.send(call(2, "test_elicitation_sep1034_defaults"));
  auto ereq = parse(e[0].json);
  CHECK(std::string{ereq["params"]["requestedSchema"]["properties"]["name"]["default"].GetString()} == "John Doe");
  auto er = final_response(h.send(R"({"jsonrpc":"2.0","id":)" + std::to_string(ereq["id"].GetInt64())
                                  + R"(,"result":{"action":"accept","content":{"name":"Jane"}}})"));
  CHECK(text(er).find("action=accept") != std::string::npos);
}

TEST_CASE("2026-07-28 multi round-trip tools") {
  conformance_harness h;
  const char* caps = R"({"sampling":{},"elicitation":{},"roots":{}})";
  auto r1 = final_response(h.stateless(stateless_call(1, "test_input_required_result_multiple_inputs", caps)));
  auto& reqs = r1["result"]["inputRequests"];
  CHECK(reqs.MemberCount() == 3);
  std::string state = r1["result"]["requestState"].GetString();
  auto r2 = final_response(h.stateless(stateless_call(2, "test_input_required_result_multiple_inputs", caps,
    R"(,"requestState":")" + state + R"(","inputResponses":{"user_name":{"action":"accept","content":{"name":"Alice"}},"greeting":{"role":"assistant","content":{"type":"text","text":"Hi"},"model":"m"},"client_roots":{"roots":[{"uri":"file:///r"}]}})")));
  CHECK(text(r2) == "Name: Alice; Greeting: Hi; Roots: 1");
  auto only_sampling = final_response(h.stateless(stateless_call(3, "test_input_required_result_capabilities", R"({"sampling":{}})")));
  CHECK(only_sampling["result"]["inputRequests"].HasMember("sample_input"));
  CHECK_FALSE(only_sampling["result"]["inputRequests"].HasMember("elicit_input"));
  auto missing = final_response(h.stateless(stateless_call(4, "test_missing_capability", "{}")));
  CHECK(error_code(missing) == errc::missing_client_capability);
}

TEST_CASE("change triggers really change the lists") {
  conformance_harness h;
  std::vector<catalog_change> changes;
  h.cat.set_listener([&](catalog_change c, std::string_view) { changes.push_back(c); });
  h.init();
  h.send(call(1, "test_trigger_tool_change"));
  CHECK(h.cat.current()->find_tool("test_dynamic_tool") != nullptr);
  h.send(call(2, "test_trigger_tool_change"));
  CHECK(h.cat.current()->find_tool("test_dynamic_tool") == nullptr);
  h.send(call(3, "test_trigger_prompt_change"));
  CHECK(h.cat.current()->find_prompt("test_dynamic_prompt") != nullptr);
  CHECK(changes == std::vector<catalog_change>{catalog_change::tools, catalog_change::tools,
                                               catalog_change::prompts});
}

TEST_CASE("the template resource substitutes its id") {
  conformance_harness h;
  h.init();
  auto r = final_response(h.send(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://template/123/data"}})"));
  auto body = parse(r["result"]["contents"][0]["text"].GetString());
  CHECK(std::string{body["id"].GetString()} == "123");
  CHECK(body["templateTest"].GetBool());
}

} // TEST_SUITE

TEST_SUITE("default set") {

struct default_harness : harness {
  explicit default_harness(std::string root = {}) : harness({}, false) {
    tools::tool_set set;
    tools::tool_set_options opts;
    opts.files_root = std::move(root);
    REQUIRE_FALSE(tools::add_default_set(cat, set, opts));
  }
};

TEST_CASE("echo, add with structured output, time") {
  default_harness h;
  h.init();
  CHECK(text(final_response(h.send(call(1, "echo", R"({"text":"hi"})")))) == "hi");
  auto sum = final_response(h.send(call(2, "add", R"({"a":2,"b":0.5})")));
  CHECK(sum["result"]["structuredContent"]["sum"].GetDouble() == 2.5);
  CHECK(final_response(h.send(call(3, "add", R"({"a":"2","b":1})")))["result"]["isError"].GetBool());
  CHECK(text(final_response(h.send(call(4, "time")))).size() == 20);
}

TEST_CASE("countdown reports progress and stops when cancelled") {
  default_harness h;
  h.init();
  auto msgs = h.send(call(1, "countdown", R"({"seconds":3})", R"(,"_meta":{"progressToken":7})"));
  CHECK(msgs.size() == 5); // 4 progress notifications and the result
  h.io->cancel_flag = true;
  auto cut = final_response(h.send(call(2, "countdown", R"({"seconds":3})")));
  CHECK(cut["result"]["isError"].GetBool());
  CHECK(text(cut).find("cancelled") != std::string::npos);
}

TEST_CASE("file resources never leave their root") {
  namespace fs = std::filesystem;
  auto base = fs::temp_directory_path() / ("mcpvisor-fs-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "root" / "docs");
  { std::ofstream(base / "root" / "docs" / "a b.md") << "# hello"; }
  { std::ofstream(base / "secret.txt") << "do not read"; }
  { std::ofstream(base / "root" / "bin.dat") << std::string("\0\1\2", 3); }
  fs::create_symlink(base / "secret.txt", base / "root" / "escape.txt");
  fs::create_directory_symlink(base, base / "root" / "up");
  auto root = fs::canonical(base / "root").string();
  default_harness h{root};
  h.init();
  auto read = [&](std::string uri) {
    return final_response(h.send(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":")"
                                 + uri + R"("}})"));
  };
  auto ok = read("file://" + root + "/docs/a%20b.md");
  REQUIRE(ok.HasMember("result"));
  CHECK(std::string{ok["result"]["contents"][0]["text"].GetString()} == "# hello");
  CHECK(std::string{ok["result"]["contents"][0]["mimeType"].GetString()} == "text/markdown");
  auto bin = read("file://" + root + "/bin.dat");
  CHECK(bin["result"]["contents"][0].HasMember("blob"));
  for (auto bad : {root + "/../secret.txt", root + "/%2e%2e/secret.txt",
                   root + "/escape.txt", root + "/up/secret.txt",
                   base.string() + "/secret.txt", std::string{"/etc/passwd"},
                   root + "/nope.txt"}) {
    CAPTURE(bad);
    CHECK(error_code(read("file://" + bad)) == errc::resource_not_found);
  }
  auto list = final_response(h.send(R"({"jsonrpc":"2.0","id":2,"method":"resources/list"})"));
  for (auto& r : list["result"]["resources"].GetArray())
    CHECK(std::string{r["uri"].GetString()}.find("escape") == std::string::npos);
  fs::remove_all(base);
}

} // TEST_SUITE
