// InstructionCompletion: finishes, in the VMM, single instructions that a software-emulated
// KVM (e.g. kvm_pvm, MACHINE-NOTES.md) gives up on with an emulation failure, where what the
// instruction does is fully defined by the architecture and needs no state the VMM cannot see.
// Today: `int3` (0xCC) and `fwait` (0x9B). Anything else stays a KVM internal error report.
#pragma once

#include <string_view>

#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::vm {

// Completes the instruction at the vCPU's RIP if it is one of those above; returns its name
// ("int3", "fwait") for --trace, or an empty view when it did nothing.
std::string_view complete_instruction(kvm::VcpuFd& vcpu, const GuestMemory& memory);

} // namespace minivmm::vm
