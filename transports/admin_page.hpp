#pragma once

#include <string_view>

namespace mcpvisor::transports {

/// The admin endpoint's one HTML page (GET /admin/): self-contained, it
/// polls /admin/tree and /admin/andon every second and draws the tree.
std::string_view admin_page();

} // namespace mcpvisor::transports
