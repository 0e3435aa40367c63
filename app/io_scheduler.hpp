#pragma once

#include <caf/actor_system_config.hpp>

namespace mcpvisor::transports {
class io_lanes;
}

namespace mcpvisor::app {

/// Makes the actor system run its actors on the I/O lanes instead of
/// CAF's own scheduler threads (`--scheduler-policy io`, the default). An
/// actor made ready on a lane runs on that lane: a request read from a
/// socket goes to its session actor, and the answer to the socket, on one
/// thread, with no thread woken in between. Actors made ready from other
/// threads (timers, tool workers, the cluster's multiplexer) go to the
/// lanes in turn. `lanes` must outlive the actor system.
void run_actors_on(transports::io_lanes& lanes, caf::actor_system_config& cfg);

} // namespace mcpvisor::app
