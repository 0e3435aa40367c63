#include "actors/process_stats.hpp"

#include <cstdio>

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace mcpvisor::actors {

size_t resident_bytes() {
  auto* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  auto n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2)
    return 0;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

size_t open_fds() {
  auto* d = opendir("/proc/self/fd");
  if (d == nullptr)
    return 0;
  size_t n = 0;
  while (auto* e = readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  closedir(d);
  return n > 0 ? n - 1 : 0; // the directory's own descriptor
}

size_t fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
    return 1 << 20;
  return static_cast<size_t>(r.rlim_cur);
}

} // namespace mcpvisor::actors
