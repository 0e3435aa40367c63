#pragma once

#include <cstddef>

/// What this process uses, read from /proc and getrlimit.
namespace mcpvisor::actors {

/// Resident set size in bytes (0 if it cannot be read).
size_t resident_bytes();

/// Bytes allocated with malloc and not freed yet.
size_t heap_in_use();

/// Open file descriptors (counts /proc/self/fd; about 1 ms per 20,000).
size_t open_fds();

/// The soft limit on open file descriptors.
size_t fd_limit();

} // namespace mcpvisor::actors
