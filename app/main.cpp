// The `mcpvisor` binary: the built-in tool sets, served by the same entry
// point users' own programs call (include/mcpvisor/mcpvisor.hpp).

#include "mcpvisor/mcpvisor.hpp"

int main(int argc, char** argv) {
  return mcpvisor::serve(argc, argv);
}
