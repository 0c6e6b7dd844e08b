// VcpuState capture and apply (vcpu_state.hpp).
#include "vmm/kvm/vcpu_state.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::kvm {

std::optional<std::uint64_t> VcpuState::msr(std::uint32_t index) const
{
    for (const auto& entry : msrs)
        if (entry.index == index)
            return entry.data;
    return std::nullopt;
}

VcpuState capture_vcpu_state(const VcpuFd& vcpu, const std::vector<std::uint32_t>& msr_indices, std::size_t xsave_size)
{
    VcpuState state;
    state.regs = vcpu.get_regs();
    state.sregs = vcpu.get_sregs();
    if (kvm_fpu fpu {}; vcpu.get_fpu(fpu))
        state.fpu = fpu;
    state.xsave = vcpu.get_xsave_area(xsave_size);
    if (kvm_xcrs xcrs {}; vcpu.get_xcrs(xcrs))
        state.xcrs = xcrs;
    state.lapic = vcpu.get_lapic();
    state.msrs = vcpu.get_msrs(msr_indices);
    state.events = vcpu.get_events();
    state.mp_state = vcpu.get_mp_state();
    if (kvm_debugregs debugregs {}; vcpu.get_debugregs(debugregs))
        state.debugregs = debugregs;
    state.cpuid = vcpu.get_cpuid();
    return state;
}

namespace {
void set_msrs_or_throw(const VcpuFd& vcpu, const std::vector<kvm_msr_entry>& msrs)
{
    const std::size_t accepted = vcpu.try_set_msrs(msrs);
    if (accepted < msrs.size())
        throw SysError(fmt::format("KVM_SET_MSRS on vCPU {}: MSR {:#x} = {:#x} refused", vcpu.index(),
                           msrs[accepted].index, msrs[accepted].data),
            EINVAL);
}
} // namespace

void apply_vcpu_state(const VcpuFd& vcpu, const VcpuState& state)
{
    vcpu.set_cpuid(state.cpuid);
    vcpu.set_sregs(state.sregs);
    vcpu.set_regs(state.regs);
    // The XSAVE area holds the x87/SSE state too; KVM_SET_FPU is the fallback on hosts without it.
    if (state.xsave) {
        if (!vcpu.set_xsave_area(*state.xsave))
            throw SysError(fmt::format("KVM_SET_XSAVE on vCPU {} (the snapshot holds an XSAVE area this host refuses)",
                vcpu.index()));
    } else if (state.fpu) {
        if (!vcpu.set_fpu(*state.fpu))
            throw SysError(fmt::format("KVM_SET_FPU on vCPU {}", vcpu.index()));
    }
    if (state.xcrs && !vcpu.set_xcrs(*state.xcrs))
        throw SysError(fmt::format("KVM_SET_XCRS on vCPU {}", vcpu.index()));

    // The TSC deadline is relative to the TSC and is only kept while the LAPIC timer is in
    // TSC-deadline mode: it goes after both (api.rst 4.19 and QEMU's kvm_put_tscdeadline_msr).
    std::vector<kvm_msr_entry> msrs;
    std::vector<kvm_msr_entry> deadline;
    for (const auto& entry : state.msrs)
        (entry.index == kMsrIa32TscDeadline ? deadline : msrs).push_back(entry);
    set_msrs_or_throw(vcpu, msrs);
    vcpu.set_lapic(state.lapic);
    set_msrs_or_throw(vcpu, deadline);
    vcpu.set_mp_state(state.mp_state);

    // api.rst 4.31 (KVM_SET_VCPU_EVENTS): nmi.pending and sipi_vector are only taken with their
    // VALID flags; KVM_GET_VCPU_EVENTS does not set those on the way out.
    kvm_vcpu_events events = state.events;
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    vcpu.set_events(events);
    if (state.debugregs && !vcpu.set_debugregs(*state.debugregs))
        throw SysError(fmt::format("KVM_SET_DEBUGREGS on vCPU {}", vcpu.index()));
}

} // namespace minivmm::kvm
