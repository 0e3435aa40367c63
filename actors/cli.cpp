#include "actors/cli.hpp"

#include <CLI/CLI.hpp>

#include "actors/log.hpp"

namespace mcpvisor::actors {

namespace {

/// Adds a flag for a duration kept in milliseconds.
void add_ms(CLI::App& app, const std::string& name,
            std::chrono::milliseconds& target, const std::string& help) {
  app.add_option_function<int64_t>(
       name, [&target](int64_t v) { target = std::chrono::milliseconds{v}; },
       help)
    ->default_str(std::to_string(target.count()))
    ->check(CLI::PositiveNumber);
}

} // namespace

parse_result parse_command_line(int argc, char** argv) {
  options opts;
  auto& tree = opts.node.tree;
  CLI::App app{"mcpvisor: an MCP server runtime supervised like an OTP "
               "system"};
  app.set_config("--config", "", "read options from a TOML file");
  app.add_option("--meta-shards", tree.meta_shards,
                 "meta-shards under the root")
    ->capture_default_str()
    ->check(CLI::Range(1, 1024));
  app.add_option("--shards", tree.shards_per_meta, "shards per meta-shard")
    ->capture_default_str()
    ->check(CLI::Range(1, 4096));
  app.add_option("--root-intensity", tree.root_intensity,
                 "meta-shard restarts the root tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_ms(app, "--root-period-ms", tree.root_period, "root restart window");
  app.add_option("--meta-intensity", tree.meta_intensity,
                 "shard restarts a meta-shard tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_ms(app, "--meta-period-ms", tree.meta_period,
         "meta-shard restart window");
  app.add_option("--shard-intensity", tree.shard_intensity,
                 "session restarts a shard tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_ms(app, "--shard-period-ms", tree.shard_period, "shard restart window");
  app.add_option("--scheduler-threads", opts.node.scheduler_threads,
                 "CAF scheduler threads (0: one per core)")
    ->capture_default_str();
  app.add_option("--scheduler-policy", opts.node.scheduler_policy,
                 "CAF scheduler policy")
    ->capture_default_str()
    ->check(CLI::IsMember({"sharing", "stealing"}));
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warning or error")
    ->capture_default_str()
    ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  std::string log_file;
  app.add_option("--log-file", log_file,
                 "append log lines to this file instead of stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help goes to stdout as asked for; errors to stderr.
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }
  if (log_level == "debug")
    log::set_level(log::level::debug);
  else if (log_level == "warning")
    log::set_level(log::level::warning);
  else if (log_level == "error")
    log::set_level(log::level::error);
  if (!log_file.empty() && !log::set_file(log_file)) {
    std::cerr << "cannot open log file " << log_file << '\n';
    return 2;
  }
  return opts;
}

} // namespace mcpvisor::actors
