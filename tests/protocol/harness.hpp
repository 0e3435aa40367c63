#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/engine.hpp"

namespace mcpvisor::test {

namespace proto = mcpvisor::protocol;

/// A call_io that records notifications and can be cancelled.
class recording_io : public proto::call_io {
public:
  std::vector<std::string> sent;
  bool cancel_flag = false;
  /// Calls whose deferred round ended, for the harness to finish.
  std::vector<std::shared_ptr<proto::pending_call>> resumed;
  std::function<void()> cancel_hook;

  void resume(std::shared_ptr<proto::pending_call> call) override {
    resumed.push_back(std::move(call));
  }
  void on_cancel(std::function<void()> f) override {
    cancel_hook = std::move(f);
  }

  void send(std::string json) override {
    sent.push_back(std::move(json));
  }
  bool cancelled() const noexcept override {
    return cancel_flag;
  }
  bool wait(std::chrono::milliseconds) override {
    return !cancel_flag;
  }
};

/// Drives the engine with strings, as a transport would, running every
/// handler round synchronously.
struct harness {
  /// With `with_test_definitions`, the catalog starts with the tools,
  /// resources and prompts of add_test_definitions.
  explicit harness(proto::engine_config cfg = {},
                   bool with_test_definitions = true);

  proto::catalog cat;
  proto::server_context srv;
  proto::session sess;
  std::shared_ptr<recording_io> io = std::make_shared<recording_io>();
  /// Calls that ran and are not finished yet (waiting for answers).
  std::vector<std::shared_ptr<proto::pending_call>> waiting;

  /// Sends one message to the session; returns what it sent back
  /// (notifications from handlers included, in order).
  std::vector<proto::outgoing> send(std::string json);

  /// Sends an initialize and the initialized notification.
  void init(std::string_view version = "2025-11-25",
            std::string_view caps = "{}");

  /// Sends one stateless request.
  std::vector<proto::outgoing> stateless(std::string json,
                                         const proto::mcp_headers* h = nullptr);

  /// Runs calls of `out` and everything they lead to; appends messages.
  void drain(proto::engine_output& out, std::vector<proto::outgoing>& msgs,
             bool stateless);
};

/// Parses an outgoing message.
proto::json_document parse(const std::string& json);

/// The final response among `msgs` (the last with final set).
proto::json_document final_response(const std::vector<proto::outgoing>& msgs);

/// Error code of a response document, or 0.
int error_code(const proto::json_document& doc);

/// `_meta` for a 2026-07-28 request with the given capabilities.
std::string meta2026(std::string_view caps = "{}",
                     std::string_view extra = {});

/// A catalog with a few tools, resources and prompts used across tests.
void add_test_definitions(proto::catalog& cat);

} // namespace mcpvisor::test
