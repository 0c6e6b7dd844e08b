// Human-readable vCPU state for crash reports: registers, control registers, segment modes and
// the instruction bytes around RIP (read through KVM_TRANSLATE + GuestMemory, never raw).
#pragma once

#include <string>

#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::vm {

std::string format_vcpu_state(const kvm::VcpuFd& vcpu, const GuestMemory& memory);

} // namespace minivmm::vm
