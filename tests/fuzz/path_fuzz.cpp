// Path canonicalisation behind file resources: a canonical path has no
// "." or ".." segment left and canonicalises to itself, and a file URI made
// from it names exactly it again.

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/path.hpp"

using namespace mcpvisor::protocol;

namespace {

void check_canonical(const std::string& p) {
  auto again = canonical_path(p);
  if (!again || *again != p)
    __builtin_trap(); // not idempotent
  if (p.find("/../") != std::string::npos || p.find("/./") != std::string::npos
      || p.find("//") != std::string::npos
      || (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0)
      || (p.size() > 1 && p.back() == '/'))
    __builtin_trap(); // a segment survived
  auto back = file_uri_path(file_uri(p));
  if (!back || *back != p)
    __builtin_trap(); // the URI names another path
  if (path_within("/srv/root", p) && p.rfind("/srv/root", 0) != 0)
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto canon = canonical_path(in))
    check_canonical(*canon);
  if (auto p = file_uri_path(in))
    check_canonical(*p);
  return 0;
}
