// A CAF 0.17 node without TLS that tries to reach a cluster port, as an
// attacker with the same library would: it must be refused.
//   plain-caf-client HOST PORT   -> exit 0 if refused, 1 if it got an actor

#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: plain-caf-client HOST PORT\n");
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("middleman.app-identifiers",
          caf::config_value::list{caf::config_value{std::string{"mcpvisor-cluster-1"}}});
  caf::actor_system sys{cfg};
  // a TLS port never sends the plain handshake this peer waits for: no
  // answer within 5 s is a refusal too
  auto res = std::async(std::launch::async, [&] {
    return sys.middleman().remote_actor(argv[1], static_cast<uint16_t>(std::atoi(argv[2])));
  });
  if (res.wait_for(std::chrono::seconds{5}) != std::future_status::ready) {
    std::printf("refused: no CAF handshake within 5 s\n");
    std::fflush(stdout);
    std::_Exit(0);
  }
  auto r = res.get();
  if (r) {
    std::printf("connected: the port served a plain CAF peer\n");
    std::fflush(stdout);
    std::_Exit(1);
  }
  std::printf("refused: %s\n", to_string(r.error()).c_str());
  std::fflush(stdout);
  std::_Exit(0);
}
