#include "app/cli.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include <CLI/CLI.hpp>

#include "actors/log.hpp"
#include "app/upstream_config.hpp"
#include "actors/node.hpp"
#include "protocol/seal.hpp"

namespace mcpvisor::app {

namespace {

template <class Duration>
void add_duration(CLI::App& app, const std::string& name, Duration& target,
                  const std::string& help) {
  using unit = typename Duration::period;
  const char* suffix = std::is_same_v<unit, std::milli> ? " (ms)" : " (s)";
  app.add_option_function<int64_t>(
       name, [&target](int64_t v) { target = Duration{v}; }, help + suffix)
    ->default_str(std::to_string(target.count()))
    ->check(CLI::NonNegativeNumber);
}

/// The seal secret of a cluster: SHA-256 of the file's bytes (at least 32,
/// surrounding white space aside).
bool read_secret(const std::string& path, std::optional<std::array<uint8_t, 32>>& out) {
  if (path.empty())
    return false;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::string bytes{std::istreambuf_iterator<char>{in}, {}};
  auto first = bytes.find_first_not_of(" \t\r\n");
  auto last = bytes.find_last_not_of(" \t\r\n");
  if (first == std::string::npos || last + 1 - first < 32)
    return false;
  auto digest = protocol::sha256(std::string_view{bytes}.substr(first, last + 1 - first));
  std::array<uint8_t, 32> secret{};
  std::copy(digest.begin(), digest.end(), secret.begin());
  out = secret;
  return true;
}

bool split_listen(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    auto p = std::stoul(listen.substr(colon + 1));
    if (p > 65535)
      return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

} // namespace

parse_result parse_command_line(int argc, char** argv, std::string_view tools) {
  options opts;
  opts.tools = std::string{tools};
  auto& rt = opts.node.runtime;
  auto& tree = rt.tree;
  auto& http = opts.http;
  auto& eng = opts.engine;
  CLI::App app{"mcpvisor: an MCP server runtime supervised like an OTP "
               "system"};
  app.set_config("--config", "", "read options from a TOML file");
  app.set_version_flag("--version", std::string{protocol::server_info{}.version});
  std::string listen = "127.0.0.1:8080";
  app.add_option("--listen", listen,
                 "serve MCP at http://HOST:PORT/mcp")
    ->capture_default_str();
  app.add_option("--tools", opts.tools,
                 "built-in set: default, conformance, drill (default plus "
                 "tools that crash and stall on purpose, for chaos drills), "
                 "or none")
    ->capture_default_str()
    ->check(CLI::IsMember({"default", "conformance", "drill", "none"}));
  app.add_option("--files-root", opts.tool_options.files_root,
                 "directory the default set serves as read-only resources");
  app.add_flag("--stdio", opts.stdio,
               "serve one session on stdin/stdout instead of HTTP");
  // -- HTTP --
  http.io_threads = 0;
  app.add_option("--io-threads", http.io_threads,
                 "threads running HTTP I/O (0: half the cores)")
    ->capture_default_str()
    ->check(CLI::Range(0, 64));
  app.add_option("--max-body-bytes", http.max_body_bytes,
                 "largest request body")
    ->capture_default_str();
  app.add_option("--max-header-bytes", http.max_header_bytes,
                 "largest request header block")
    ->capture_default_str();
  add_duration(app, "--read-timeout", http.read_timeout,
               "time to read a request, and keep-alive idle limit");
  app.add_option("--max-connections", http.max_connections,
                 "open connections beyond this are refused")
    ->capture_default_str();
  app.add_option("--max-queued-bytes", http.max_queued_bytes,
                 "output a client may leave unread (SSE streams, WebSocket frames) "
                 "before it is cut off or no longer read")
    ->capture_default_str();
  app.add_option("--allowed-host", http.allowed_hosts,
                 "Host/Origin host accepted besides localhost (repeatable)");
  app.add_option("--allowed-origin", http.allowed_origins,
                 "Origin accepted as given (repeatable)");
  app.add_option("--tls-cert", opts.tls.cert,
                 "serve https:// with this certificate (PEM, chain allowed); "
                 "reloaded on SIGHUP");
  app.add_option("--tls-key", opts.tls.key, "the certificate's key (PEM)");
  app.add_option("--tls-client-ca", opts.tls.client_ca,
                 "require client certificates signed by this CA (PEM)");
  // -- authorization (OAuth 2.1 resource server) --
  app.add_option("--auth-issuer", opts.auth.issuer,
                 "require bearer tokens (JWT) issued by this authorization server "
                 "(its iss); off unless given");
  app.add_option("--auth-audience", opts.auth.audience,
                 "this resource's URL, which tokens must name in aud "
                 "(e.g. https://mcp.example.com/mcp)");
  app.add_option("--auth-jwks", opts.auth.jwks,
                 "the authorization server's signing keys: a JWKS file, or an "
                 "http(s) URL fetched and refreshed");
  std::vector<std::string> scope_flags;
  app.add_option("--auth-scope", scope_flags,
                 "RULE=SCOPE[ SCOPE...]: scopes a request needs; RULE is "
                 "tool:NAME, resource:URI, prompt:NAME or * (repeatable)");
  int64_t jwks_refresh_s = opts.auth.refresh.count();
  app.add_option("--auth-jwks-refresh-s", jwks_refresh_s,
                 "how often a JWKS URL is fetched again (seconds)")
    ->capture_default_str();
  // -- admin, overload, chaos --
  std::string admin_listen;
  app.add_option("--admin", admin_listen,
                 "serve the admin endpoint at http://HOST:PORT (off unless "
                 "given)");
  app.add_option("--admin-token", opts.admin_cfg.token,
                 "bearer token every admin request must carry (required "
                 "when --admin is not a loopback address)");
  app.add_option("--admin-allowed-host", opts.admin_cfg.allowed_hosts,
                 "Host/Origin host the admin endpoint accepts besides "
                 "localhost and its own address (repeatable)");
  app.add_option("--admin-tls-cert", opts.admin_tls.cert,
                 "the admin endpoint's certificate (default: --tls-cert's)");
  app.add_option("--admin-tls-key", opts.admin_tls.key, "its key");
  auto& andon = rt.andon;
  add_duration(app, "--andon-interval-ms", andon.interval,
               "how often the overload monitor samples");
  app.add_option("--andon-queue-high", andon.queue_high,
                 "queued work that pulls the andon cord")
    ->capture_default_str();
  app.add_option("--andon-queue-low", andon.queue_low,
                 "queued work below which the cord is released")
    ->capture_default_str();
  app.add_option("--andon-session-share", andon.session_share,
                 "queued messages one session counts for at most")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--andon-rss-high-mb", andon.rss_high_mb,
                 "resident memory (MiB) that pulls the cord (0: off)")
    ->capture_default_str();
  app.add_option("--andon-fds-high", andon.fds_high,
                 "open descriptors that pull the cord (0: 90% of the limit)")
    ->capture_default_str();
  app.add_option("--andon-restarts-high", andon.restarts_high,
                 "restarts per second that pull the cord")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--chaos", opts.chaos,
                 "crash-injection order to run from start-up, as JSON (see "
                 "docs/operations.md; repeatable)");
  // -- sessions and handlers --
  app.add_option("--workers", rt.workers, "threads running tool handlers")
    ->capture_default_str()
    ->check(CLI::Range(1, 1024));
  add_duration(app, "--drain-timeout", opts.drain_timeout,
               "at shutdown, how long running handlers are waited for; the "
               "process then exits with status 3 without them");
  app.add_option("--worker-queue", rt.worker_queue,
                 "handler runs waiting for a thread before new ones are refused")
    ->capture_default_str();
  add_duration(app, "--idle-timeout", rt.idle_timeout,
               "a session unused this long ends");
  add_duration(app, "--sleep-after", rt.sleep_after,
               "a session unused this long keeps only its checkpoint until "
               "it is needed (0: never)");
  app.add_flag("--passivate", rt.passivate,
               "a sleeping session gives up its actor too (its routing entry "
               "and checkpoint stay; its next message starts an actor again)");
  app.add_option("--max-sessions", rt.max_sessions,
                 "sessions beyond this are refused with 503")
    ->capture_default_str();
  app.add_option("--max-calls-per-session", rt.max_calls_per_session,
                 "calls one session may have in flight")
    ->capture_default_str();
  app.add_option("--stateless-actors", rt.stateless_actors,
                 "actors serving stateless 2026-07-28 requests")
    ->capture_default_str()
    ->check(CLI::Range(1, 1024));
  add_duration(app, "--task-ttl-ms", rt.tasks.ttl,
               "a task stays readable this long after it was created; one "
               "still running then is cancelled");
  app.add_option("--max-tasks", rt.tasks.max_tasks,
                 "tasks kept at most (running or finished); more are refused")
    ->capture_default_str()
    ->check(CLI::Range(size_t{1}, size_t{10000000}));
  app.add_option("--max-tasks-per-client", rt.tasks.max_per_client,
                 "tasks one client (token subject; all clients without a token "
                 "together) may keep")
    ->capture_default_str()
    ->check(CLI::Range(size_t{1}, size_t{10000000}));
  add_duration(app, "--idempotency-ttl-ms", rt.idempotency.ttl,
               "an idempotency key and the answer of its run are kept this "
               "long");
  app.add_option("--max-idempotency-keys", rt.idempotency.max_keys,
                 "idempotency keys kept at most (the oldest finished one "
                 "makes room)")
    ->capture_default_str()
    ->check(CLI::Range(size_t{1}, size_t{100000000}));
  app.add_option("--replay-events", rt.streams.replay_events,
                 "SSE events kept per session for resumption")
    ->capture_default_str();
  app.add_option("--sse-retry-ms", rt.streams.retry_ms,
                 "SSE retry sent to 2025-11-25 clients")
    ->capture_default_str();
  // -- protocol --
  app.add_option("--page-size", eng.page_size, "items per page of list results")
    ->capture_default_str()
    ->check(CLI::Range(1, 100000));
  app.add_option("--max-subscriptions", eng.max_subscriptions,
                 "resource subscriptions per session")
    ->capture_default_str();
  app.add_option("--max-result-bytes", eng.max_result_bytes,
                 "largest encoded result of a tool, resource or prompt; a "
                 "larger one is answered with an error")
    ->capture_default_str();
  add_duration(app, "--input-timeout", eng.input_timeout,
               "deadline of a server-to-client request");
  // -- tree --
  app.add_option("--meta-shards", tree.meta_shards, "meta-shards under the root")
    ->capture_default_str()
    ->check(CLI::Range(1, 1024));
  app.add_option("--shards", tree.shards_per_meta, "shards per meta-shard")
    ->capture_default_str()
    ->check(CLI::Range(1, 4096));
  app.add_option("--root-intensity", tree.root_intensity,
                 "meta-shard restarts the root tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_duration(app, "--root-period-ms", tree.root_period, "root restart window");
  app.add_option("--meta-intensity", tree.meta_intensity,
                 "shard restarts a meta-shard tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_duration(app, "--meta-period-ms", tree.meta_period,
               "meta-shard restart window");
  app.add_option("--shard-intensity", tree.shard_intensity,
                 "session restarts a shard tolerates per period")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  add_duration(app, "--shard-period-ms", tree.shard_period,
               "shard restart window");
  app.add_option("--scheduler-threads", opts.node.scheduler_threads,
                 "CAF scheduler threads with sharing or stealing (0: half the cores)")
    ->capture_default_str();
  opts.node.scheduler_policy = "io";
  app.add_option("--scheduler-policy", opts.node.scheduler_policy,
                 "where actors run: io (on the I/O threads), or CAF's own "
                 "threads with sharing or stealing")
    ->capture_default_str()
    ->check(CLI::IsMember({"io", "sharing", "stealing"}));
  // -- the cluster --
  auto& cl = opts.node.cluster;
  app.add_option("--cluster-listen", cl.listen,
                 "HOST:PORT of this node's cluster port (mutual TLS; off: alone)");
  app.add_option("--join", cl.join, "HOST:PORT of a seed node to join; repeatable");
  app.add_option("--node-name", cl.node_name,
                 "this node's name in the cluster (default: its cluster address)");
  app.add_option("--cluster-tls-cert", cl.cert, "this node's certificate (PEM)");
  app.add_option("--cluster-tls-key", cl.key, "this node's private key (PEM)");
  app.add_option("--cluster-tls-ca", cl.ca,
                 "the CA every node's certificate is signed by (PEM)");
  app.add_option("--cluster-secret-file", cl.secret_file,
                 "a secret every node shares, at least 32 bytes (mcpvisor cluster-certs "
                 "writes one): what one node seals, any node opens");
  add_duration(app, "--cluster-heartbeat-ms", cl.heartbeat,
               "heartbeats to every peer this often");
  add_duration(app, "--cluster-timeout-ms", cl.timeout,
               "a peer silent this long is down");
  add_duration(app, "--drain-quiet-ms", cl.drain_quiet,
               "a draining node leaves once no request came for this long");
  add_duration(app, "--drain-limit-ms", cl.drain_limit,
               "a draining node leaves after this long at the latest");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warning or error")
    ->capture_default_str()
    ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_flag("--log-requests", http.log_requests,
               "one log line per answered HTTP request");
  std::string log_file;
  app.add_option("--log-file", log_file,
                 "append log lines to this file instead of stderr");
  // -- upstream MCP servers --
  std::vector<std::string> upstream_flags;
  app.add_option("--upstream", upstream_flags,
                 "an MCP server to front: NAME=COMMAND ARGS... (stdio) or "
                 "NAME=http://HOST:PORT/mcp; repeatable (more settings in "
                 "[upstream.NAME] tables of the config file)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help goes to stdout as asked for; errors to stderr.
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }
  for (auto& f : upstream_flags) {
    std::string error;
    auto u = parse_upstream_flag(f, error);
    if (!u) {
      std::cerr << error << '\n';
      return 2;
    }
    opts.upstreams.push_back(std::move(*u));
  }
  if (auto* config = app.get_config_ptr(); config != nullptr && config->count() > 0) {
    std::string error;
    if (!read_upstream_tables(config->as<std::string>(), opts.upstreams, error)) {
      std::cerr << error << '\n';
      return 2;
    }
  }
  for (auto& f : scope_flags)
    if (!opts.auth.scopes.add_text(f)) {
      std::cerr << "--auth-scope must be RULE=SCOPES with RULE tool:NAME, resource:URI, "
                   "prompt:NAME or *, not '" << f << "'\n";
      return 2;
    }
  if (auto* config = app.get_config_ptr(); config != nullptr && config->count() > 0) {
    std::string error;
    if (!read_required_scopes(config->as<std::string>(), opts.auth.scopes, error)) {
      std::cerr << error << '\n';
      return 2;
    }
  }
  opts.auth.refresh = std::chrono::seconds{std::max<int64_t>(jwks_refresh_s, 1)};
  if (opts.auth.enabled() && (opts.auth.audience.empty() || opts.auth.jwks.empty())) {
    std::cerr << "--auth-issuer needs --auth-audience and --auth-jwks\n";
    return 2;
  }
  if (!opts.auth.enabled()
      && (!opts.auth.audience.empty() || !opts.auth.jwks.empty() || !opts.auth.scopes.empty())) {
    // never a server that looks protected and is not
    std::cerr << "--auth-audience, --auth-jwks, --auth-scope and [required_scopes] need "
                 "--auth-issuer (without it no token is checked)\n";
    return 2;
  }
  for (size_t i = 0; i < opts.upstreams.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (opts.upstreams[i].name == opts.upstreams[j].name) {
        std::cerr << "two upstreams are named '" << opts.upstreams[i].name << "'\n";
        return 2;
      }
  if (!split_listen(listen, http.host, http.port)) {
    std::cerr << "--listen must be HOST:PORT, not '" << listen << "'\n";
    return 2;
  }
  for (auto* t : {&opts.tls, &opts.admin_tls})
    if (t->cert.empty() != t->key.empty()) {
      std::cerr << "--tls-cert and --tls-key (and --admin-tls-cert and --admin-tls-key) "
                   "go together\n";
      return 2;
    }
  if (!opts.admin_tls.enabled())
    opts.admin_tls = transports::tls_files{opts.tls.cert, opts.tls.key, {}};
  if (!admin_listen.empty()) {
    opts.admin = true;
    if (!split_listen(admin_listen, opts.admin_cfg.host, opts.admin_cfg.port)) {
      std::cerr << "--admin must be HOST:PORT, not '" << admin_listen << "'\n";
      return 2;
    }
  }
  if (cl.enabled()) {
    std::string host;
    uint16_t port = 0;
    if (!actors::split_host_port(cl.listen, host, port) || port == 0) {
      std::cerr << "--cluster-listen must be HOST:PORT with a port, not '" << cl.listen << "'\n";
      return 2;
    }
    // never a plain middleman port: any peer could spawn actors on it
    for (auto* f : {&cl.cert, &cl.key, &cl.ca})
      if (f->empty() || ::access(f->c_str(), R_OK) != 0) {
        std::cerr << "--cluster-listen needs --cluster-tls-cert, --cluster-tls-key and "
                     "--cluster-tls-ca, readable files (mcpvisor cluster-certs makes them)\n";
        return 2;
      }
    if (!read_secret(cl.secret_file, opts.seal_secret)) {
      std::cerr << "--cluster-listen needs --cluster-secret-file, a readable file of at "
                   "least 32 bytes that every node shares (mcpvisor cluster-certs makes "
                   "one)\n";
      return 2;
    }
    for (auto& seed : cl.join)
      if (!actors::split_host_port(seed, host, port)) {
        std::cerr << "--join must be HOST:PORT, not '" << seed << "'\n";
        return 2;
      }
  } else if (!cl.join.empty()) {
    std::cerr << "--join needs --cluster-listen\n";
    return 2;
  }
  if (http.io_threads == 0)
    http.io_threads = actors::half_the_cores();
  if (opts.node.scheduler_threads == 0)
    opts.node.scheduler_threads = actors::half_the_cores();
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

} // namespace mcpvisor::app
