#pragma once

#include "supervision/child_spec.hpp"

namespace mcpvisor::actors {

class runtime;

/// The supervisor of the actors that serve stateless 2026-07-28 requests
/// (one_for_one, `stateless_actors` permanent workers). Each registers
/// itself in the runtime so the gateway can pick one without asking anyone.
supervision::child_spec stateless_supervisor(runtime& rt);

} // namespace mcpvisor::actors
