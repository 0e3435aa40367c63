#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/snapshot.hpp"

/// Blocking calls of the supervisor protocol (see supervisor.hpp), for
/// `main`, tests and tools. Each waits at most `timeout` on a scoped actor;
/// never call them from an actor's handler or an I/O thread.
namespace mcpvisor::supervision::client {

using std::chrono::milliseconds;
constexpr milliseconds default_timeout{10000};

/// Adds and starts a child under a supervisor that is not simple_one_for_one.
caf::expected<caf::actor> start_child(caf::scoped_actor& self,
                                      const caf::actor& sup, child_spec spec,
                                      milliseconds timeout = default_timeout);

/// Starts a dynamic child under simple_one_for_one.
caf::expected<caf::actor> start_child(caf::scoped_actor& self,
                                      const caf::actor& sup, std::string id,
                                      caf::message args,
                                      milliseconds timeout = default_timeout);

caf::error terminate_child(caf::scoped_actor& self, const caf::actor& sup,
                           std::string id,
                           milliseconds timeout = default_timeout);

caf::expected<caf::actor> restart_child(caf::scoped_actor& self,
                                        const caf::actor& sup, std::string id,
                                        milliseconds timeout = default_timeout);

caf::error delete_child(caf::scoped_actor& self, const caf::actor& sup,
                        std::string id, milliseconds timeout = default_timeout);

caf::expected<std::vector<child_info>>
which_children(caf::scoped_actor& self, const caf::actor& sup,
               milliseconds timeout = default_timeout);

caf::expected<child_counts> count_children(caf::scoped_actor& self,
                                           const caf::actor& sup,
                                           milliseconds timeout
                                           = default_timeout);

caf::expected<tree_node> snapshot(caf::scoped_actor& self,
                                  const caf::actor& sup,
                                  snapshot_options opts = {},
                                  milliseconds timeout = default_timeout);

} // namespace mcpvisor::supervision::client
