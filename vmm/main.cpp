// Entry point: everything, including error reporting and exit codes, lives in vmm/cli. The one
// thing done before it: no file descriptor inherited from the parent survives (least privilege).
#include "vmm/cli/main_command.hpp"
#include "vmm/sandbox/inherited_fds.hpp"

int main(int argc, char** argv)
{
    minivmm::sandbox::close_inherited_fds();
    return minivmm::cli::run_main(argc, argv);
}
