#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

/// HTTP rules both listeners (MCP and admin) apply, without Beast: header
/// text helpers, status reasons, and the Host/Origin allow-list that stops
/// DNS rebinding.
namespace mcpvisor::transports {

std::string_view trim(std::string_view s);

std::string lower(std::string_view s);

/// The reason phrase of a status code we send.
std::string_view reason(int status);

/// Host names (and origins) a listener accepts: localhost, 127.0.0.1 and
/// [::1] always, plus configured ones. A request whose Host is not listed,
/// or whose Origin (if any) names another host, is refused with 403.
class origin_policy {
public:
  origin_policy(const std::vector<std::string>& hosts,
                std::vector<std::string> origins);

  bool host_ok(std::string_view host) const;

  bool origin_ok(std::string_view origin) const;

private:
  std::unordered_set<std::string> hosts_;
  std::vector<std::string> origins_;
};

} // namespace mcpvisor::transports
