// Conversion of the neutral boot::CpuEntryState into KVM's register structures.
#pragma once

#include <linux/kvm.h>

#include "vmm/boot/cpu_entry_state.hpp"

namespace minivmm::vm {

kvm_segment to_kvm_segment(const boot::Segment& segment);
// Starts from the vCPU's current sregs (keeps APIC base etc.) and applies `entry`.
kvm_sregs apply_entry_sregs(kvm_sregs sregs, const boot::CpuEntryState& entry);
kvm_regs entry_regs(const boot::CpuEntryState& entry);

} // namespace minivmm::vm
