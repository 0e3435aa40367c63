#pragma once

#include <string>

#include "tools/tool_sets.hpp"
#include "protocol/engine.hpp"

/// The MCP engine fed strings, with the conformance tool set, running every
/// handler round at once on the calling thread: what the fuzz targets of
/// the engine share. Not a test double: the same engine and handlers the
/// binary runs, without actors or sockets.
namespace mcpvisor::fuzz {

class instant_io : public protocol::call_io {
public:
  void send(std::string) override {
    // nop: notifications are not looked at
  }
  bool cancelled() const noexcept override {
    return false;
  }
  bool wait(std::chrono::milliseconds) override {
    return true; // handlers that sleep do not
  }
};

struct engine_driver {
  engine_driver();

  protocol::catalog cat;
  protocol::server_context srv;
  tools::tool_set set;
  instant_io io;

  /// Initializes a fresh session at `version`.
  void initialize(protocol::session& sess, std::string_view version);

  /// One message to `sess`, handlers run to the end.
  void to_session(protocol::session& sess, std::string json);

  /// One stateless 2026-07-28 message.
  void stateless(std::string json, const protocol::mcp_headers* headers = nullptr);

  /// Runs the calls of `out` and what they lead to; every message sent is
  /// checked to be JSON.
  void drain(protocol::engine_output& out, protocol::session* sess);
};

} // namespace mcpvisor::fuzz
