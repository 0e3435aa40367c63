#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "protocol/auth.hpp"
#include "protocol/ingress.hpp"
#include "transports/http_reader.hpp"

/// The deprecated HTTP+SSE transport of MCP 2024-11-05, for clients that
/// have no other: `GET /sse` opens an event stream whose first event,
/// `endpoint`, names `/messages?sessionId=...`; each message POSTed there
/// is accepted with 202 and answered on the stream. One session per
/// stream, with the rules of a single-channel transport (as stdio), the
/// same Host/Origin rules, limits and andon cord as Streamable HTTP, and
/// the same supervision: a session that crashes continues on its stream.
namespace mcpvisor::transports {

class connection;
}

namespace mcpvisor::actors {
class gateway;
}

namespace mcpvisor::transports {

class legacy_sse {
public:
  /// True for the transport's paths.
  static bool handles(std::string_view path) noexcept {
    return path == "/sse" || path == "/messages";
  }

  /// Serves a request for one of its paths on `c`.
  /// `who`: the token's principal when the endpoint checks tokens; a
  /// stream takes messages from its own subject only.
  void serve(connection& c, request_reader::request& req, const protocol::http_request& v,
             protocol::principal_ptr who);

  /// Streams whose client left: their sessions end. Called from the
  /// server's periodic tick.
  void sweep(actors::gateway& gw);

private:
  struct stream;

  void open(connection& c, protocol::principal_ptr who);
  void post(connection& c, const protocol::http_request& v, std::string body,
            protocol::principal_ptr who);

  std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<stream>> streams_;
};

} // namespace mcpvisor::transports
