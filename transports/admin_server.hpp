#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mcpvisor::actors {
class admin;
} // namespace mcpvisor::actors

/// The admin endpoint: a listener of its own (off unless `--admin` is
/// given) that serves actors::admin over HTTP/1.1 with JSON bodies, the
/// Prometheus text for /metrics, and one self-contained HTML page.
namespace mcpvisor::transports {

class tls_context;

struct admin_config {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// Bearer token every request must carry; required when `host` is not a
  /// loopback address.
  std::string token;
  /// Host names accepted in Host and Origin besides localhost, 127.0.0.1,
  /// [::1] and `host` itself.
  std::vector<std::string> allowed_hosts;
  /// HTTPS when set (transports/tls.hpp).
  std::shared_ptr<tls_context> tls;
};

class admin_server {
public:
  admin_server(actors::admin& api, admin_config cfg);
  ~admin_server();

  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Binds and serves on a thread of its own; an error text if it cannot
  /// (or if it would be reachable from other hosts without a token).
  std::optional<std::string> start();

  /// The port actually bound.
  uint16_t port() const;

  void stop();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

} // namespace mcpvisor::transports
