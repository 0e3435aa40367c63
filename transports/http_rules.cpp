#include "transports/http_rules.hpp"

#include <cctype>

namespace mcpvisor::transports {

namespace {

/// Host name of a Host header or an origin's authority: without port,
/// brackets kept for IPv6 literals, lower case.
std::string host_name(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return lower(authority.substr(0, close == std::string_view::npos
                                       ? authority.size()
                                       : close + 1));
  }
  return lower(authority.substr(0, authority.find(':')));
}

} // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

origin_policy::origin_policy(const std::vector<std::string>& hosts,
                             std::vector<std::string> origins)
  : hosts_{"localhost", "127.0.0.1", "[::1]"}, origins_(std::move(origins)) {
  for (auto& h : hosts)
    hosts_.insert(lower(h));
}

bool origin_policy::host_ok(std::string_view host) const {
  return hosts_.count(host_name(trim(host))) > 0;
}

bool origin_policy::origin_ok(std::string_view origin) const {
  origin = trim(origin);
  for (auto& o : origins_)
    if (o == origin)
      return true;
  auto scheme = origin.find("://");
  if (scheme == std::string_view::npos)
    return false;
  auto s = lower(origin.substr(0, scheme));
  if (s != "http" && s != "https")
    return false;
  auto authority = origin.substr(scheme + 3);
  if (auto slash = authority.find('/'); slash != std::string_view::npos)
    authority = authority.substr(0, slash);
  return hosts_.count(host_name(authority)) > 0;
}

} // namespace mcpvisor::transports
