// InstructionCompletion: finishes, in the VMM, single instructions that a software-emulated
// KVM (e.g. kvm_pvm, MACHINE-NOTES.md) gives up on with an emulation failure, where what the
// instruction does is fully defined by the architecture and needs no state the VMM cannot see:
// `int3`, `fwait`, `ldmxcsr m32` and `stmxcsr m32`. It also recognises code that changed under
// the failed emulation (another vCPU patching kernel text) and lets the guest run it again.
// Anything else stays a KVM internal error report.
#pragma once

#include <linux/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::vm {

enum class Completion {
    None,        // not an instruction we complete: report the failure
    Completed,   // done: architectural state updated, the guest continues after it
    CodeChanged, // the bytes at RIP differ from those KVM failed on: run the guest again
};

struct CompletionResult {
    Completion kind = Completion::None;
    std::string_view instruction; // "int3", "fwait", "ldmxcsr", "stmxcsr" (for --trace)
};

// Architectural state the VMM keeps per vCPU for the instructions it completes. MXCSR: a software
// KVM that cannot emulate LDMXCSR/STMXCSR may not expose MXCSR through KVM_GET_FPU either (kvm_pvm
// reports 0 and drops writes; KVM_GET_XSAVE is refused). There guest kernel SSE arithmetic cannot
// be emulated at all, so MXCSR's only observable effect is what STMXCSR returns: the VMM keeps
// the value the guest last loaded, from the architectural reset value (SDM vol. 1 §10.2.3.1).
struct CompletionState {
    std::uint32_t mxcsr = 0x1f80;
};

// `failure_data` is the KVM_INTERNAL_ERROR_EMULATION data (Documentation/virt/kvm/api.rst,
// "emulation_failure": flags, then insn_size and insn_bytes when flagged).
CompletionResult complete_instruction(
    kvm::VcpuFd& vcpu, const GuestMemory& memory, std::span<const __u64> failure_data, CompletionState& state);

} // namespace minivmm::vm
