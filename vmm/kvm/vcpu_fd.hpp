// VcpuFd: one virtual CPU: its fd, its kvm_run area (mapped and unmapped by this owner), register
// access and KVM_RUN decoded into a VmExit.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vmm/base/mmap.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/kvm/vm_exit.hpp"

namespace minivmm::kvm {

class VcpuFd {
public:
    VcpuFd(UniqueFd fd, unsigned index, std::size_t run_size);

    [[nodiscard]] unsigned index() const { return m_index; }
    [[nodiscard]] int fd() const { return m_fd.get(); }

    // Enters the guest until the next exit. Returns InterruptedExit on EINTR; throws SysError
    // on any other failure of the ioctl.
    VmExit run();
    // Makes the current or next run() return InterruptedExit promptly. Thread-safe together with
    // a signal sent to the thread in run() (KVM checks immediate_exit on entry; the signal
    // interrupts a guest already running).
    void set_immediate_exit(bool value);

    [[nodiscard]] kvm_regs get_regs() const;
    void set_regs(const kvm_regs& regs) const;
    [[nodiscard]] kvm_sregs get_sregs() const;
    void set_sregs(const kvm_sregs& sregs) const;
    [[nodiscard]] kvm_lapic_state get_lapic() const;
    void set_lapic(const kvm_lapic_state& lapic) const;
    void set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
    void set_msrs(const std::vector<kvm_msr_entry>& msrs) const;
    [[nodiscard]] kvm_vcpu_events get_events() const;
    void set_events(const kvm_vcpu_events& events) const;
    // KVM_GET_FPU: the x87/SSE state; false when the host refuses it.
    [[nodiscard]] bool get_fpu(kvm_fpu& fpu) const;
    // KVM_SET_FPU; false when the host refuses it.
    [[nodiscard]] bool set_fpu(const kvm_fpu& fpu) const;
    // KVM_GET_XSAVE / KVM_SET_XSAVE (the 4 KiB legacy-compatible area); false when refused.
    [[nodiscard]] bool get_xsave(kvm_xsave& xsave) const;
    [[nodiscard]] bool set_xsave(const kvm_xsave& xsave) const;
    // The vCPU's whole state for a snapshot (vcpu_state.hpp uses these).
    // KVM_GET_MSRS for `indices`: the entries KVM read. MSRs it refuses are left out (each is
    // tried alone after a batch stops at it).
    [[nodiscard]] std::vector<kvm_msr_entry> get_msrs(const std::vector<std::uint32_t>& indices) const;
    // KVM_SET_MSRS: the number of entries KVM accepted (it stops at the first refused one).
    [[nodiscard]] std::size_t try_set_msrs(const std::vector<kvm_msr_entry>& msrs) const;
    // KVM_GET_CPUID2: the table KVM_SET_CPUID2 gave this vCPU.
    [[nodiscard]] std::vector<kvm_cpuid_entry2> get_cpuid() const;
    [[nodiscard]] kvm_mp_state get_mp_state() const;
    void set_mp_state(const kvm_mp_state& state) const;
    // KVM_GET_XSAVE2 (or KVM_GET_XSAVE when `size` is sizeof(kvm_xsave)) into `size` bytes;
    // nullopt when the host refuses it (kvm_pvm does).
    [[nodiscard]] std::optional<std::vector<std::uint8_t>> get_xsave_area(std::size_t size) const;
    // KVM_SET_XSAVE with an area of at least sizeof(kvm_xsave) bytes; false when refused.
    [[nodiscard]] bool set_xsave_area(std::span<const std::uint8_t> area) const;
    // KVM_GET_XCRS / KVM_SET_XCRS; false when the host refuses them.
    [[nodiscard]] bool get_xcrs(kvm_xcrs& xcrs) const;
    [[nodiscard]] bool set_xcrs(const kvm_xcrs& xcrs) const;
    // KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS; false when the host refuses them.
    [[nodiscard]] bool get_debugregs(kvm_debugregs& debugregs) const;
    [[nodiscard]] bool set_debugregs(const kvm_debugregs& debugregs) const;
    // KVM_GET_TSC_KHZ: the guest's TSC frequency; 0 when unknown.
    [[nodiscard]] std::uint32_t tsc_khz() const;

    // KVM_SET_GUEST_DEBUG (Documentation/virt/kvm/api.rst 4.59): breakpoints, single-step and
    // the debug registers the VMM uses on this vCPU. Only while the vCPU is not in KVM_RUN.
    void set_guest_debug(const kvm_guest_debug& debug) const;
    // KVM_TRANSLATE: guest-virtual to guest-physical with the vCPU's current paging; nullopt when unmapped.
    [[nodiscard]] bool translate(std::uint64_t linear, std::uint64_t& physical, kvm_translation* details = nullptr) const;

private:
    [[nodiscard]] kvm_run* run_area() const { return reinterpret_cast<kvm_run*>(m_run.data()); }
    UniqueFd m_fd;
    unsigned m_index;
    Mapping m_run;
};

} // namespace minivmm::kvm
