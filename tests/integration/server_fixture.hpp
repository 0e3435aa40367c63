#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace mcpvisor::test {

/// True in the AddressSanitizer build, whose binaries run against each
/// other: its shadow memory and quarantine make memory bounds meaningless.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif

/// The real mcpvisor binary serving HTTP on a free port of 127.0.0.1.
struct server_fixture {
  explicit server_fixture(std::vector<std::string> extra = {},
                          std::string tools = "conformance");
  ~server_fixture();

  int port = 0;
  std::unique_ptr<process> proc;
  /// Set by a test that ended the process itself and checked its exit.
  bool exited = false;

  /// One request on a fresh connection.
  std::optional<http_response> request(const std::string& raw);

  /// Initializes a session at `version`; returns its id (empty on failure).
  std::string initialize(const std::string& version = "2025-11-25",
                         const std::string& caps = "{}");

  /// Headers for requests in session `sid`.
  static std::string session_headers(const std::string& sid,
                                     const std::string& version = "2025-11-25");

  /// True if the server still answers a ping in a new session.
  bool healthy();
};

/// What a run of mcpvisor-load ended with.
struct load_run {
  int status = -1;
  /// Its flat JSON report (--json).
  std::string report;
};

/// Runs mcpvisor-load with `args` (after its --json) to its end, at most
/// `limit`.
load_run run_load(std::vector<std::string> args, std::chrono::seconds limit);

/// A value of mcpvisor-load's flat JSON report, as text (empty if absent).
std::string report_field(const std::string& json, const std::string& key);

/// The same as a number (-1 if absent).
double report_number(const std::string& json, const std::string& key);

/// A metric's value from the admin endpoint on `admin_port`.
double admin_metric(int admin_port, const std::string& name);

} // namespace mcpvisor::test
