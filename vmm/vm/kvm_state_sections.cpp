// The KVM-held vmstate sections (kvm_state_sections.hpp). Each payload starts with a u16 layout
// version of its own, so a layout change is a clear refusal even within one file format version.
#include "vmm/vm/kvm_state_sections.hpp"

#include <fmt/format.h>

namespace minivmm::vm {

namespace {
constexpr std::uint16_t kVcpuLayout = 1;
constexpr std::uint16_t kIrqchipLayout = 1;
constexpr std::uint16_t kPitLayout = 1;
constexpr std::uint16_t kClockLayout = 1;

// Which optional parts a vCPU section holds (what the host gave when it was taken).
enum VcpuPart : std::uint8_t {
    kHasFpu = 1 << 0,
    kHasXsave = 1 << 1,
    kHasXcrs = 1 << 2,
    kHasDebugregs = 1 << 3,
};
constexpr std::uint8_t kAllVcpuParts = kHasFpu | kHasXsave | kHasXcrs | kHasDebugregs;

void expect_layout(snapshot::StateReader& in, std::uint16_t layout, std::string_view what)
{
    const std::uint16_t found = in.u16();
    if (found != layout)
        in.fail(fmt::format("{} layout {} (this minivmm reads layout {})", what, found, layout));
}
} // namespace

void write_vcpu_section(snapshot::StateWriter& out, const VcpuSnapshot& vcpu)
{
    const kvm::VcpuState& state = vcpu.kvm;
    out.u16(kVcpuLayout);
    std::uint8_t parts = 0;
    parts |= state.fpu ? kHasFpu : 0;
    parts |= state.xsave ? kHasXsave : 0;
    parts |= state.xcrs ? kHasXcrs : 0;
    parts |= state.debugregs ? kHasDebugregs : 0;
    out.u8(parts);
    out.object(state.regs);
    out.object(state.sregs);
    if (state.fpu)
        out.object(*state.fpu);
    if (state.xsave)
        out.bytes(*state.xsave);
    if (state.xcrs)
        out.object(*state.xcrs);
    out.object(state.lapic);
    out.u32(static_cast<std::uint32_t>(state.msrs.size()));
    for (const auto& msr : state.msrs) {
        out.u32(msr.index);
        out.u64(msr.data);
    }
    out.object(state.events);
    out.u32(state.mp_state.mp_state);
    if (state.debugregs)
        out.object(*state.debugregs);
    out.u32(static_cast<std::uint32_t>(state.cpuid.size()));
    for (const auto& entry : state.cpuid)
        out.object(entry);
    out.u32(vcpu.mxcsr);
}

VcpuSnapshot read_vcpu_section(snapshot::StateReader& in)
{
    expect_layout(in, kVcpuLayout, "vCPU");
    VcpuSnapshot vcpu;
    kvm::VcpuState& state = vcpu.kvm;
    const std::uint8_t parts = in.u8();
    if (parts & ~kAllVcpuParts)
        in.fail(fmt::format("unknown vCPU parts {:#x}", parts));
    state.regs = in.object<kvm_regs>();
    state.sregs = in.object<kvm_sregs>();
    if (parts & kHasFpu)
        state.fpu = in.object<kvm_fpu>();
    if (parts & kHasXsave) {
        state.xsave = in.bytes(kMaxSavedXsaveBytes);
        if (state.xsave->size() < sizeof(kvm_xsave))
            in.fail(fmt::format("an XSAVE area of {} bytes (at least {})", state.xsave->size(), sizeof(kvm_xsave)));
    }
    if (parts & kHasXcrs) {
        state.xcrs = in.object<kvm_xcrs>();
        if (state.xcrs->nr_xcrs > KVM_MAX_XCRS)
            in.fail(fmt::format("{} XCRs (at most {})", state.xcrs->nr_xcrs, KVM_MAX_XCRS));
    }
    state.lapic = in.object<kvm_lapic_state>();
    const std::uint32_t msrs = in.index(kMaxSavedMsrs + 1, "MSR count");
    for (std::uint32_t i = 0; i < msrs; ++i) {
        kvm_msr_entry entry {};
        entry.index = in.u32();
        entry.data = in.u64();
        state.msrs.push_back(entry);
    }
    state.events = in.object<kvm_vcpu_events>();
    // api.rst 4.38 (KVM_GET_MP_STATE): the states 0..KVM_MP_STATE_AP_RESET_HOLD are x86's.
    state.mp_state.mp_state = in.index(KVM_MP_STATE_AP_RESET_HOLD + 1, "MP state");
    if (parts & kHasDebugregs)
        state.debugregs = in.object<kvm_debugregs>();
    const std::uint32_t entries = in.index(kMaxSavedCpuidEntries + 1, "CPUID entry count");
    for (std::uint32_t i = 0; i < entries; ++i)
        state.cpuid.push_back(in.object<kvm_cpuid_entry2>());
    vcpu.mxcsr = in.u32();
    in.expect_end();
    return vcpu;
}

void write_irqchip_section(snapshot::StateWriter& out, const IrqchipSnapshot& irqchip)
{
    out.u16(kIrqchipLayout);
    for (const auto& chip : irqchip.chips)
        out.object(chip);
}

IrqchipSnapshot read_irqchip_section(snapshot::StateReader& in)
{
    expect_layout(in, kIrqchipLayout, "irqchip");
    IrqchipSnapshot irqchip;
    for (std::uint32_t id = 0; id < irqchip.chips.size(); ++id) {
        irqchip.chips[id] = in.object<kvm_irqchip>();
        if (irqchip.chips[id].chip_id != id)
            in.fail(fmt::format("chip {} has id {}", id, irqchip.chips[id].chip_id));
    }
    in.expect_end();
    return irqchip;
}

void write_pit_section(snapshot::StateWriter& out, const kvm_pit_state2& pit)
{
    out.u16(kPitLayout);
    out.object(pit);
}

kvm_pit_state2 read_pit_section(snapshot::StateReader& in)
{
    expect_layout(in, kPitLayout, "PIT");
    const auto pit = in.object<kvm_pit_state2>();
    in.expect_end();
    return pit;
}

void write_clock_section(snapshot::StateWriter& out, const kvm_clock_data& clock)
{
    out.u16(kClockLayout);
    out.u64(clock.clock);
    out.u32(clock.flags);
}

kvm_clock_data read_clock_section(snapshot::StateReader& in)
{
    expect_layout(in, kClockLayout, "clock");
    kvm_clock_data clock {};
    clock.clock = in.u64();
    clock.flags = in.u32();
    in.expect_end();
    return clock;
}

} // namespace minivmm::vm
