// The KVM-held vmstate sections (vmm/vm/kvm_state_sections.hpp): each round-trips, absent parts
// stay absent, and every bound a hostile section could break is checked.
#include <catch2/catch.hpp>

#include <cstring>

#include "vmm/vm/kvm_state_sections.hpp"

using namespace minivmm::vm;
using minivmm::snapshot::SnapshotError;
using minivmm::snapshot::StateReader;
using minivmm::snapshot::StateWriter;

namespace {
VcpuSnapshot example(bool full)
{
    VcpuSnapshot vcpu;
    vcpu.kvm.regs.rip = 0x100123;
    vcpu.kvm.regs.rax = 42;
    vcpu.kvm.sregs.cr0 = 0x80000011;
    vcpu.kvm.sregs.apic_base = 0xfee00900;
    std::memset(vcpu.kvm.lapic.regs, 0x5a, sizeof vcpu.kvm.lapic.regs);
    vcpu.kvm.msrs = {{0x10, 0, 123456789}, {0x6e0, 0, 5}};
    vcpu.kvm.events.exception.injected = 1;
    vcpu.kvm.events.exception.nr = 14;
    vcpu.kvm.mp_state.mp_state = KVM_MP_STATE_HALTED;
    kvm_cpuid_entry2 entry {};
    entry.function = 1;
    entry.ecx = 0x80000000;
    vcpu.kvm.cpuid = {entry};
    vcpu.mxcsr = 0x1fa0;
    if (full) {
        vcpu.kvm.fpu = kvm_fpu {};
        vcpu.kvm.fpu->fcw = 0x37f;
        vcpu.kvm.xsave = std::vector<std::uint8_t>(8192, 0x11);
        vcpu.kvm.xcrs = kvm_xcrs {};
        vcpu.kvm.xcrs->nr_xcrs = 1;
        vcpu.kvm.xcrs->xcrs[0].value = 7;
        vcpu.kvm.debugregs = kvm_debugregs {};
        vcpu.kvm.debugregs->dr7 = 0x400;
    }
    return vcpu;
}

std::vector<std::uint8_t> encode(const VcpuSnapshot& vcpu)
{
    StateWriter out;
    write_vcpu_section(out, vcpu);
    return out.take();
}

VcpuSnapshot decode(const std::vector<std::uint8_t>& bytes)
{
    StateReader in(bytes, "vcpu 0");
    return read_vcpu_section(in);
}
} // namespace

TEST_CASE("vcpu section: every part round-trips, and what the host did not give stays absent", "[vm][snapshot]")
{
    for (const bool full : {true, false}) {
        INFO("optional parts present: " << full);
        const VcpuSnapshot vcpu = example(full);
        const VcpuSnapshot back = decode(encode(vcpu));
        CHECK(back.kvm.regs.rip == 0x100123u);
        CHECK(back.kvm.regs.rax == 42u);
        CHECK(back.kvm.sregs.apic_base == 0xfee00900u);
        CHECK(std::memcmp(back.kvm.lapic.regs, vcpu.kvm.lapic.regs, sizeof vcpu.kvm.lapic.regs) == 0);
        REQUIRE(back.kvm.msrs.size() == 2);
        CHECK(back.kvm.msr(0x10) == 123456789u);
        CHECK(back.kvm.events.exception.nr == 14);
        CHECK(back.kvm.mp_state.mp_state == KVM_MP_STATE_HALTED);
        REQUIRE(back.kvm.cpuid.size() == 1);
        CHECK(back.kvm.cpuid[0].ecx == 0x80000000u);
        CHECK(back.mxcsr == 0x1fa0u);
        CHECK(back.kvm.fpu.has_value() == full);
        CHECK(back.kvm.xsave.has_value() == full);
        CHECK(back.kvm.xcrs.has_value() == full);
        CHECK(back.kvm.debugregs.has_value() == full);
        if (full) {
            CHECK(back.kvm.fpu->fcw == 0x37f);
            CHECK(back.kvm.xsave->size() == 8192);
            CHECK(back.kvm.xcrs->xcrs[0].value == 7u);
            CHECK(back.kvm.debugregs->dr7 == 0x400u);
        }
    }
}

TEST_CASE("vcpu section: hostile counts, states and sizes are refused", "[vm][snapshot]")
{
    SECTION("truncated anywhere, or bytes left over")
    {
        const auto bytes = encode(example(true));
        for (std::size_t size = 0; size < bytes.size(); size += 7)
            CHECK_THROWS_AS(decode({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)}), SnapshotError);
        auto longer = bytes;
        longer.push_back(1);
        CHECK_THROWS_WITH(decode(longer), Catch::Contains("left over"));
    }
    SECTION("an MP state x86 does not have")
    {
        VcpuSnapshot vcpu = example(false);
        vcpu.kvm.mp_state.mp_state = 77;
        CHECK_THROWS_WITH(decode(encode(vcpu)), Catch::Contains("MP state is 77"));
    }
    SECTION("more XCRs than the structure holds")
    {
        VcpuSnapshot vcpu = example(true);
        vcpu.kvm.xcrs->nr_xcrs = KVM_MAX_XCRS + 1;
        CHECK_THROWS_WITH(decode(encode(vcpu)), Catch::Contains("XCRs"));
    }
    SECTION("an XSAVE area smaller than KVM's")
    {
        VcpuSnapshot vcpu = example(true);
        vcpu.kvm.xsave->resize(100);
        CHECK_THROWS_WITH(decode(encode(vcpu)), Catch::Contains("XSAVE area of 100 bytes"));
    }
    SECTION("a count beyond the bounds")
    {
        VcpuSnapshot vcpu = example(false);
        vcpu.kvm.msrs.assign(kMaxSavedMsrs + 1, kvm_msr_entry {});
        CHECK_THROWS_WITH(decode(encode(vcpu)), Catch::Contains("MSR count"));
    }
    SECTION("unknown parts, another layout")
    {
        auto bytes = encode(example(false));
        bytes[2] = 0x80;
        CHECK_THROWS_WITH(decode(bytes), Catch::Contains("unknown vCPU parts"));
        bytes = encode(example(false));
        bytes[0] = 9;
        CHECK_THROWS_WITH(decode(bytes), Catch::Contains("vCPU layout 9"));
    }
}

TEST_CASE("irqchip, PIT and clock sections round-trip; chips must come in their order", "[vm][snapshot]")
{
    IrqchipSnapshot irqchip;
    for (std::uint32_t id = 0; id < 3; ++id)
        irqchip.chips[id].chip_id = id;
    irqchip.chips[2].chip.ioapic.id = 5;
    StateWriter out;
    write_irqchip_section(out, irqchip);
    auto bytes = out.take();
    {
        StateReader in(bytes, "irqchip");
        CHECK(read_irqchip_section(in).chips[2].chip.ioapic.id == 5u);
    }
    irqchip.chips[1].chip_id = 2;
    StateWriter swapped;
    write_irqchip_section(swapped, irqchip);
    auto swapped_bytes = swapped.take();
    StateReader in(swapped_bytes, "irqchip");
    CHECK_THROWS_WITH(read_irqchip_section(in), Catch::Contains("chip 1 has id 2"));

    kvm_pit_state2 pit {};
    pit.channels[0].count = 0x1234;
    StateWriter pit_out;
    write_pit_section(pit_out, pit);
    auto pit_bytes = pit_out.take();
    StateReader pit_in(pit_bytes, "pit");
    CHECK(read_pit_section(pit_in).channels[0].count == 0x1234u);

    kvm_clock_data clock {};
    clock.clock = 987654321;
    clock.flags = 2;
    StateWriter clock_out;
    write_clock_section(clock_out, clock);
    auto clock_bytes = clock_out.take();
    StateReader clock_in(clock_bytes, "clock");
    const kvm_clock_data back = read_clock_section(clock_in);
    CHECK(back.clock == 987654321u);
    CHECK(back.flags == 2u);
}
