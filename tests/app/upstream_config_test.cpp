#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "app/upstream_config.hpp"

using namespace mcpvisor;

TEST_SUITE("upstream configuration") {

TEST_CASE("--upstream NAME=COMMAND ARGS or NAME=URL") {
  std::string error;
  auto s = app::parse_upstream_flag("fs=npx -y '@modelcontextprotocol/server-filesystem' \"/tmp/a b\"", error);
  REQUIRE(s);
  CHECK(s->name == "fs");
  CHECK(s->command == std::vector<std::string>{"npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp/a b"});
  CHECK(s->name_prefix() == "fs__");
  auto u = app::parse_upstream_flag("web=http://127.0.0.1:9000/mcp", error);
  REQUIRE(u);
  CHECK(u->is_http());
  CHECK_FALSE(app::parse_upstream_flag("no equals", error));
  CHECK_FALSE(app::parse_upstream_flag("bad name=x", error));
  CHECK_FALSE(app::parse_upstream_flag("x=", error));
  CHECK_FALSE(app::parse_upstream_flag("x='unclosed", error));
}

TEST_CASE("[upstream.NAME] tables") {
  auto path = std::string{"/tmp/mcpvisor-upstream-test.toml"};
  std::ofstream{path} << R"(
listen = "127.0.0.1:8080"
[upstream.mem]
command = "node server.js"
args = ["--flag"]
env = { A = "1" }
processes = 3
prefix = ""
call_timeout_ms = 5000
[upstream.web]
url = "http://127.0.0.1:9000/mcp"
mode = "per-session"
max_processes = 7
idle_timeout_ms = 1500
headers = { Authorization = "Bearer x" }
)";
  std::vector<actors::upstream_config> out;
  std::string error;
  REQUIRE(app::read_upstream_tables(path, out, error));
  REQUIRE(out.size() == 2);
  auto& mem = out[0].name == "mem" ? out[0] : out[1];
  auto& web = out[0].name == "mem" ? out[1] : out[0];
  CHECK(mem.command == std::vector<std::string>{"node", "server.js", "--flag"});
  CHECK(mem.env.at("A") == "1");
  CHECK(mem.processes == 3);
  CHECK(mem.name_prefix().empty());
  CHECK(mem.call_timeout.count() == 5000);
  CHECK(web.headers.at("Authorization") == "Bearer x");
  CHECK_FALSE(mem.per_session());
  CHECK(web.per_session());
  CHECK(web.max_processes == 7);
  CHECK(web.idle_timeout.count() == 1500);
  for (std::string bad : {"[upstream.x]\nunknown = 1\n", "[upstream.x]\nprocesses = 0\ncommand = \"a\"\n",
                          "[upstream.x]\n", "[upstream.x]\ncommand = \"a\"\nurl = \"http://h/mcp\"\n",
                          "[upstream.x]\ncommand = \"a\"\nmode = \"pooled\"\n",
                          "[upstream.x]\ncommand = \"a\"\nidle_timeout_ms = 0\n"}) {
    CAPTURE(bad);
    std::ofstream{path} << bad;
    out.clear();
    CHECK_FALSE(app::read_upstream_tables(path, out, error));
    CHECK_FALSE(error.empty());
  }
  std::remove(path.c_str());
}

} // TEST_SUITE
