// Tests for the MP table: structure layout, checksums, entry counts, placement and the vCPU limit.
#include <catch2/catch.hpp>

#include <numeric>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/acpi_tables.hpp"
#include "vmm/boot/mp_table.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using Catch::Matchers::Contains;

namespace {

std::uint8_t byte_sum(const std::uint8_t* data, std::size_t length)
{
    return static_cast<std::uint8_t>(std::accumulate(data, data + length, 0u));
}
std::uint16_t u16_at(const std::vector<std::uint8_t>& b, std::size_t at) { return b[at] | (b[at + 1] << 8); }
std::uint32_t u32_at(const std::vector<std::uint8_t>& b, std::size_t at) { return u16_at(b, at) | (u16_at(b, at + 2) << 16); }

struct Parsed {
    unsigned processors = 0, buses = 0, ioapics = 0, io_interrupts = 0, local_interrupts = 0;
    unsigned bootstrap = 0;
    std::vector<std::uint8_t> apic_ids;
    std::uint8_t ioapic_id = 0;
    std::vector<std::pair<std::uint8_t, std::uint8_t>> irq_to_pin;
    std::vector<std::pair<std::uint8_t, std::uint8_t>> lint_types;  // (LINTIN#, type)
};

// Walks the configuration table by its own entry count and lengths, as a guest does (§4.3).
Parsed parse(const std::vector<std::uint8_t>& b)
{
    Parsed p;
    const unsigned count = u16_at(b, 34);
    std::size_t at = 44;
    for (unsigned i = 0; i < count; ++i) {
        REQUIRE(at < b.size());
        switch (b[at]) {
        case 0:
            ++p.processors;
            p.apic_ids.push_back(b[at + 1]);
            CHECK(b[at + 2] == 0x14);
            CHECK((b[at + 3] & 1) == 1);
            p.bootstrap += (b[at + 3] & 2) ? 1 : 0;
            at += 20;
            break;
        case 1:
            ++p.buses;
            CHECK(std::string(b.begin() + at + 2, b.begin() + at + 8) == "ISA   ");
            at += 8;
            break;
        case 2:
            ++p.ioapics;
            p.ioapic_id = b[at + 1];
            CHECK(b[at + 2] == 0x11);
            CHECK(u32_at(b, at + 4) == layout::kIoApicAddress);
            at += 8;
            break;
        case 3:
            ++p.io_interrupts;
            CHECK(b[at + 6] == p.ioapic_id);
            p.irq_to_pin.emplace_back(b[at + 5], b[at + 7]);
            at += 8;
            break;
        case 4:
            ++p.local_interrupts;
            CHECK(b[at + 6] == 0xff);
            p.lint_types.emplace_back(b[at + 7], b[at + 1]);
            at += 8;
            break;
        default:
            FAIL("unknown MP entry type " << int(b[at]));
        }
    }
    CHECK(at == b.size());
    return p;
}

} // namespace

TEST_CASE("MP spec §4.1/§4.2: signatures, the pointer to the configuration table and both checksums (sum 0)")
{
    for (unsigned vcpus : {1u, 2u, 4u, 64u, mp_table_max_vcpus()}) {
        const auto t = build_mp_table({.vcpu_count = vcpus}, layout::kMpConfigTableAddress);
        const auto& fp = t.floating_pointer;
        const auto& b = t.config_table;
        REQUIRE(fp.size() == 16);
        CHECK(std::string(fp.begin(), fp.begin() + 4) == "_MP_");
        CHECK(u32_at(fp, 4) == layout::kMpConfigTableAddress);
        CHECK(fp[8] == 1);
        CHECK(fp[9] == 4);
        CHECK(byte_sum(fp.data(), 16) == 0);
        REQUIRE(b.size() == mp_config_table_size(vcpus));
        CHECK(std::string(b.begin(), b.begin() + 4) == "PCMP");
        CHECK(u16_at(b, 4) == b.size());
        CHECK(byte_sum(b.data(), b.size()) == 0);
        CHECK(u32_at(b, 36) == layout::kLapicAddress);
    }
}

TEST_CASE("MP spec §4.3: one processor per vCPU (APIC id = index, BSP = 0), ISA bus, IOAPIC, 16 IRQs, LINT0/1")
{
    for (unsigned vcpus : {1u, 2u, 4u, 64u, 254u}) {
        const auto p = parse(build_mp_table({.vcpu_count = vcpus}).config_table);
        CHECK(p.processors == vcpus);
        CHECK(p.bootstrap == 1);
        for (unsigned i = 0; i < vcpus; ++i)
            CHECK(p.apic_ids[i] == i);
        CHECK(p.buses == 1);
        CHECK(p.ioapics == 1);
        CHECK(p.ioapic_id == vcpus);
        REQUIRE(p.io_interrupts == 16);
        for (unsigned irq = 0; irq < 16; ++irq)
            CHECK(p.irq_to_pin[irq] == std::make_pair(std::uint8_t(irq), std::uint8_t(irq)));
        REQUIRE(p.local_interrupts == 2);
        CHECK(p.lint_types[0] == std::make_pair(std::uint8_t(0), std::uint8_t(3)));  // LINT0 ExtINT
        CHECK(p.lint_types[1] == std::make_pair(std::uint8_t(1), std::uint8_t(1)));  // LINT1 NMI
    }
}

TEST_CASE("MP table: at most 254 vCPUs (8-bit xAPIC ids, 0xff broadcast, IOAPIC id = vCPU count)")
{
    CHECK(mp_table_max_vcpus() == 254);
    CHECK_NOTHROW(build_mp_table({.vcpu_count = 254}));
    CHECK_THROWS_WITH(build_mp_table({.vcpu_count = 255}), Contains("255 vCPUs") && Contains("use at most 254"));
    CHECK_THROWS_AS(build_mp_table({.vcpu_count = 0}), UserError);
}

TEST_CASE("MP table: the configuration table for 254 vCPUs fits its BIOS-area slot, clear of the ACPI tables")
{
    CHECK(layout::kMpConfigTableAddress + mp_config_table_size(mp_table_max_vcpus()) <= layout::kMpConfigTableEnd);
    CHECK(layout::kMpConfigTableEnd <= layout::kLegacyHoleEnd);
    CHECK(layout::kAcpiTablesEnd <= layout::kMpConfigTableAddress);
    const auto acpi = build_acpi_tables({.vcpu_count = acpi_max_vcpus()});
    CHECK(layout::kAcpiTablesAddress + acpi.bytes.size() <= layout::kMpConfigTableAddress);
}

// mptable.c (the smp test guest) and Linux's smp_scan_config both look at 639 KiB-640 KiB and at
// 0xF0000-0xFFFFF on 16-byte boundaries; the first valid "_MP_" must be ours.
TEST_CASE("MP spec §4: write_mp_table leaves the floating pointer at 0x9fc00, pointing at the table in the BIOS area")
{
    const auto memory = GuestMemory::create(layout::ram_ranges(16 * layout::MiB));
    write_mp_table(memory, {.vcpu_count = 2});
    std::vector<std::uint8_t> fp(16);
    REQUIRE(memory.read(layout::kMpTableAddress, fp));
    CHECK(u32_at(fp, 0) == 0x5f504d5f);  // "_MP_"
    CHECK(byte_sum(fp.data(), 16) == 0);
    const std::uint32_t config = u32_at(fp, 4);
    CHECK(config == layout::kMpConfigTableAddress);
    std::vector<std::uint8_t> table(mp_config_table_size(2));
    REQUIRE(memory.read(config, table));
    CHECK(u32_at(table, 0) == 0x504d4350);  // "PCMP"
    CHECK(parse(table).processors == 2);
}
