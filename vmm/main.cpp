// Entry point: everything, including error reporting and exit codes, lives in vmm/cli.
#include "vmm/cli/main_command.hpp"

int main(int argc, char** argv) { return minivmm::cli::run_main(argc, argv); }
