// Boot setup: loads the kernel, initrd and command line into guest memory with the right boot
// protocol (PVH or Linux), writes the MP table, and prepares each vCPU's CPUID and the boot
// vCPU's entry registers (DESIGN.md, "Boot flow", steps 1-4).
#pragma once

#include <linux/kvm.h>

#include <vector>

#include "vmm/boot/cpu_entry_state.hpp"
#include "vmm/boot/cpuid_builder.hpp"
#include "vmm/boot/kernel_image.hpp"
#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/vm/vm_config.hpp"

namespace minivmm::vm {

struct BootPlan {
    boot::CpuEntryState entry;
    std::vector<boot::CpuidEntry> supported_cpuid;
    boot::CpuTemplate cpu_template = boot::CpuTemplate::None;
    boot::KernelKind kernel_kind = boot::KernelKind::PvhElf;
};

// Throws UserError for a bad kernel/initrd/cmdline, before any vCPU exists.
BootPlan prepare_boot(const VmConfig& config, const GuestMemory& memory, std::vector<kvm_cpuid_entry2> supported_cpuid);
// The CPU template and KVM's supported CPUID only, for a machine that loads no kernel (a restore
// compares a snapshot's CPUID with what this host would give).
BootPlan cpuid_plan(const VmConfig& config, std::vector<kvm_cpuid_entry2> supported_cpuid);
// The CPUID table of vCPU `index` of `cpu_count` (configure_vcpu sets it).
std::vector<kvm_cpuid_entry2> vcpu_cpuid(const BootPlan& plan, unsigned index, unsigned cpu_count);
// CPUID for vCPU `vcpu.index()` of `cpu_count`; the boot vCPU also gets its entry registers and
// LAPIC LINT0/LINT1 wiring (ExtINT/NMI, as the MP table's local interrupt entries say).
void configure_vcpu(kvm::VcpuFd& vcpu, const BootPlan& plan, unsigned cpu_count);

} // namespace minivmm::vm
