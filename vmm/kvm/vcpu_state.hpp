// VcpuState: everything KVM holds for one vCPU that a snapshot must carry (registers, FPU or
// XSAVE area, XCRs, LAPIC, MSRs, pending events, MP state, debug registers, CPUID), read from a
// vCPU that is out of KVM_RUN and written back to a fresh one before its first KVM_RUN
// (Documentation/virt/kvm/api.rst, section 4: each ioctl named below). What the host refuses
// (kvm_pvm refuses KVM_GET_XSAVE) is absent here, never guessed.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "vmm/kvm/vcpu_fd.hpp"

namespace minivmm::kvm {

// MSR numbers the state code treats specially (Intel SDM vol. 4, "Model-Specific Registers").
inline constexpr std::uint32_t kMsrIa32Tsc = 0x10;
inline constexpr std::uint32_t kMsrIa32TscDeadline = 0x6e0;

struct VcpuState {
    kvm_regs regs {};
    kvm_sregs sregs {};
    std::optional<kvm_fpu> fpu;                        // KVM_GET_FPU
    std::optional<std::vector<std::uint8_t>> xsave;    // KVM_GET_XSAVE2 / KVM_GET_XSAVE
    std::optional<kvm_xcrs> xcrs;                      // KVM_GET_XCRS
    kvm_lapic_state lapic {};
    std::vector<kvm_msr_entry> msrs;                   // those of KVM_GET_MSR_INDEX_LIST that read
    kvm_vcpu_events events {};
    kvm_mp_state mp_state {};
    std::optional<kvm_debugregs> debugregs;            // KVM_GET_DEBUGREGS
    std::vector<kvm_cpuid_entry2> cpuid;               // KVM_GET_CPUID2

    // The MSR's saved value, if it was saved.
    [[nodiscard]] std::optional<std::uint64_t> msr(std::uint32_t index) const;
};

// Reads the state of a vCPU that is not in KVM_RUN (parked, with any exit it returned already
// completed by a KVM_RUN with immediate_exit: api.rst, "immediate_exit"). `msr_indices` is
// Kvm::msr_index_list(), `xsave_size` Kvm::xsave_size(). Throws SysError when a required
// ioctl fails.
[[nodiscard]] VcpuState capture_vcpu_state(const VcpuFd& vcpu, const std::vector<std::uint32_t>& msr_indices,
    std::size_t xsave_size);

// Writes `state` to a vCPU that has not run yet, in the order KVM's dependencies need: CPUID
// first (KVM checks MSRs and XCRs against it), special registers (APIC base, EFER) before the
// LAPIC and MSRs, the TSC before the TSC deadline, the LAPIC before the TSC deadline and the
// MP state, the events last but the debug registers. Throws SysError naming what KVM refused.
void apply_vcpu_state(const VcpuFd& vcpu, const VcpuState& state);

} // namespace minivmm::kvm
