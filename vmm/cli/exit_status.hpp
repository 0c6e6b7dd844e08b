// How a VM's end becomes minivmm's exit status and its last stderr line (README.md, "Exit codes").
#pragma once

#include "vmm/vm/stop_reason.hpp"

namespace minivmm::cli {

// The process exit status for `reason`: the guest's own byte for the exit port, 0 for a clean
// guest shutdown, and ExitCode's documented values for everything else. Never 0 for a failure.
int exit_status_for(const vm::StopReason& reason);
// Prints what the user needs to know about `reason` on stderr (nothing for a clean end).
void report_stop(const vm::StopReason& reason);

} // namespace minivmm::cli
