// The vmstate sections that hold what KVM keeps (issue "Snapshot and restore"): one per vCPU
// (kvm::VcpuState plus the MXCSR the VMM keeps for hosts that hide it, instruction_completion.hpp),
// the in-kernel irqchip (PIC master, PIC slave, IOAPIC), the PIT and the KVM clock. Kernel ABI
// structures are written whole (their x86-64 layout is fixed by <linux/kvm.h>); what the host
// did not give (XSAVE on kvm_pvm) is a cleared presence bit, never a zero-filled stand-in.
// Readers bound every count and check every enumerated value; the register contents themselves
// are KVM's to judge when they are set (a refusal there is one line too).
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>

#include "vmm/kvm/vcpu_state.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::vm {

struct VcpuSnapshot {
    kvm::VcpuState kvm;
    std::uint32_t mxcsr = 0x1f80; // CompletionState::mxcsr (instruction_completion.hpp)
};

void write_vcpu_section(snapshot::StateWriter& out, const VcpuSnapshot& vcpu);
[[nodiscard]] VcpuSnapshot read_vcpu_section(snapshot::StateReader& in);

struct IrqchipSnapshot {
    std::array<kvm_irqchip, 3> chips {}; // KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC in that order
};
void write_irqchip_section(snapshot::StateWriter& out, const IrqchipSnapshot& irqchip);
[[nodiscard]] IrqchipSnapshot read_irqchip_section(snapshot::StateReader& in);

void write_pit_section(snapshot::StateWriter& out, const kvm_pit_state2& pit);
[[nodiscard]] kvm_pit_state2 read_pit_section(snapshot::StateReader& in);

void write_clock_section(snapshot::StateWriter& out, const kvm_clock_data& clock);
[[nodiscard]] kvm_clock_data read_clock_section(snapshot::StateReader& in);

// Bounds a reader enforces (well above what KVM itself allows: KVM_MAX_CPUID_ENTRIES is 256,
// the MSR index list about 100, an XSAVE area a few KiB).
inline constexpr std::uint32_t kMaxSavedMsrs = 4096;
inline constexpr std::uint32_t kMaxSavedCpuidEntries = 1024;
inline constexpr std::size_t kMaxSavedXsaveBytes = 1 << 20;

} // namespace minivmm::vm
