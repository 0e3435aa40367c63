#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

/// How the runtime reaches one upstream MCP server: a process's stdio pipes
/// or a Streamable HTTP session (both in transports/). The runtime's
/// upstream actors drive it; they never see a pipe or a socket.
namespace mcpvisor::actors {

/// What the operator configured for one upstream (docs/configuration.md,
/// "Upstream MCP servers").
struct upstream_config {
  std::string name;
  /// stdio: the program and its arguments; `env` is added to mcpvisor's
  /// own environment; `cwd` is its working folder (empty: ours).
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string cwd;
  /// Streamable HTTP: the URL, and headers sent with every request.
  std::string url;
  std::map<std::string, std::string> headers;
  /// shared: calls of all client sessions share a pool of `processes`;
  /// per-session: each client session gets a process of its own, started
  /// on its first call and stopped when the session ends or the process
  /// idles for `idle_timeout`, at most `max_processes` at once.
  enum class mode_type : uint8_t { shared, per_session };
  mode_type mode = mode_type::shared;
  /// Processes (or HTTP sessions) whose calls all client sessions share.
  size_t processes = 1;
  size_t max_processes = 32;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes{5}};
  /// Prefix of the names of its tools and prompts ("NAME__" unless set).
  std::optional<std::string> prefix;
  /// Time to start and answer initialize.
  std::chrono::milliseconds start_timeout{std::chrono::seconds{20}};
  /// A call not answered within this is answered with an error and
  /// cancelled upstream.
  std::chrono::milliseconds call_timeout{std::chrono::minutes{2}};
  /// A process that does not answer a ping within this is killed.
  std::chrono::milliseconds ping_timeout{std::chrono::seconds{10}};
  /// Time between a stop request (SIGTERM) and SIGKILL.
  std::chrono::milliseconds kill_grace{std::chrono::seconds{2}};
  /// Restarts of its processes it tolerates per period; past that the
  /// upstream is down until `retry_after`.
  int intensity = 5;
  std::chrono::milliseconds period{std::chrono::seconds{60}};
  std::chrono::milliseconds retry_after{std::chrono::seconds{30}};
  /// Calls in flight at most, and calls waiting for a process at most;
  /// beyond both, calls are refused at once.
  size_t max_in_flight = 64;
  size_t max_queued = 256;
  /// Longest line (message) the upstream may write.
  size_t max_message_bytes = 16 * 1024 * 1024;

  bool per_session() const noexcept {
    return mode == mode_type::per_session;
  }

  bool is_http() const noexcept {
    return !url.empty();
  }

  std::string name_prefix() const {
    return prefix ? *prefix : name + "__";
  }
};

/// What the admin view shows of a link.
struct link_info {
  int64_t pid = 0;
  /// The last lines it wrote on stderr (stdio), oldest first.
  std::vector<std::string> stderr_tail;
};

/// One connection to an upstream server. `send` never blocks; messages the
/// server sends arrive on `on_message` (from a thread of the link's own),
/// and `on_closed` is called once when the connection ends, for whatever
/// reason (the process exited, wrote something too long, the URL refused).
class upstream_link {
public:
  using message_handler = std::function<void(std::string)>;
  using close_handler = std::function<void(std::string why)>;

  virtual ~upstream_link() = default;

  /// Starts the process or connection; an error text if it cannot.
  virtual std::optional<std::string> start(message_handler on_message,
                                           close_handler on_closed)
    = 0;

  /// Queues one JSON-RPC message.
  virtual void send(std::string json) = 0;

  /// Ends it: a process gets SIGTERM, SIGKILL after the grace, and is
  /// reaped; no handler is called after this returns.
  virtual void stop() = 0;

  virtual link_info info() const = 0;
};

/// Makes the link of process `index` of an upstream.
using link_factory = std::function<std::unique_ptr<upstream_link>(
  const upstream_config& cfg, size_t index)>;

} // namespace mcpvisor::actors
