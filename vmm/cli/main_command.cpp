#include "vmm/cli/main_command.hpp"

namespace minivmm::cli {

int run_main(int, char**) { return 0; }

} // namespace minivmm::cli
