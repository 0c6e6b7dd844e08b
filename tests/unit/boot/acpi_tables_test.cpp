// Tests for the ACPI tables: headers and checksums, the pointer chain RSDP -> XSDT -> FADT/MADT,
// FADT -> DSDT, the MADT's entries per vCPU, and the RSDP found by Linux's legacy scan.
#include <catch2/catch.hpp>

#include <numeric>
#include <optional>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/acpi_tables.hpp"
#include "vmm/boot/mp_table.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using Catch::Matchers::Contains;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint8_t byte_sum(const std::uint8_t* data, std::size_t length)
{
    return static_cast<std::uint8_t>(std::accumulate(data, data + length, 0u));
}
std::uint16_t u16_at(const std::uint8_t* b) { return static_cast<std::uint16_t>(b[0] | (b[1] << 8)); }
std::uint32_t u32_at(const std::uint8_t* b) { return u16_at(b) | (std::uint32_t(u16_at(b + 2)) << 16); }
std::uint64_t u64_at(const std::uint8_t* b) { return u32_at(b) | (std::uint64_t(u32_at(b + 4)) << 32); }
std::string text_at(const std::uint8_t* b, std::size_t n) { return std::string(b, b + n); }

// The table at guest address `address` inside `tables`, sized by its own Length field.
Bytes table_at(const AcpiTables& tables, std::uint64_t address)
{
    REQUIRE(address >= tables.address);
    const std::uint64_t offset = address - tables.address;
    REQUIRE(offset + 8 <= tables.bytes.size());
    const std::uint32_t length = u32_at(tables.bytes.data() + offset + 4);
    REQUIRE(offset + length <= tables.bytes.size());
    return Bytes(tables.bytes.begin() + static_cast<std::ptrdiff_t>(offset),
        tables.bytes.begin() + static_cast<std::ptrdiff_t>(offset + length));
}

// §5.2.6 (System Description Table Header): signature, length, revision, checksum, OEM fields.
void check_header(const Bytes& t, const char* signature, std::uint8_t revision, std::size_t length)
{
    INFO("table " << signature);
    REQUIRE(t.size() >= 36);
    CHECK(text_at(t.data(), 4) == signature);
    CHECK(u32_at(t.data() + 4) == t.size());
    CHECK(t.size() == length);
    CHECK(t[8] == revision);
    CHECK(byte_sum(t.data(), t.size()) == 0);
    CHECK(text_at(t.data() + 10, 6) == "MINIVM");
    CHECK(text_at(t.data() + 16, 8) == "MINIVMM ");
    CHECK(text_at(t.data() + 28, 4) == "MVMM");
}

struct Madt {
    std::vector<std::pair<std::uint8_t, std::uint8_t>> local_apics;  // (UID, APIC id), enabled only
    unsigned disabled_local_apics = 0;
    unsigned ioapics = 0;
    std::uint8_t ioapic_id = 0;
    std::uint32_t ioapic_address = 0;
    std::uint32_t gsi_base = 0xffffffff;
    unsigned nmis = 0;
    std::uint8_t nmi_uid = 0, nmi_lint = 0;
    unsigned others = 0;
};

// Walks the MADT's interrupt controller structures by their own lengths, as ACPICA does.
Madt parse_madt(const Bytes& t)
{
    Madt m;
    std::size_t at = 44;
    while (at < t.size()) {
        REQUIRE(at + 2 <= t.size());
        const std::uint8_t type = t[at], length = t[at + 1];
        REQUIRE(length >= 2);
        REQUIRE(at + length <= t.size());
        const std::uint8_t* e = t.data() + at;
        if (type == 0 && length == 8) {
            if (u32_at(e + 4) & 1)
                m.local_apics.emplace_back(e[2], e[3]);
            else
                ++m.disabled_local_apics;
        } else if (type == 1 && length == 12) {
            ++m.ioapics;
            m.ioapic_id = e[2];
            m.ioapic_address = u32_at(e + 4);
            m.gsi_base = u32_at(e + 8);
        } else if (type == 4 && length == 6) {
            ++m.nmis;
            m.nmi_uid = e[2];
            CHECK(u16_at(e + 3) == 0);
            m.nmi_lint = e[5];
        } else {
            ++m.others;
        }
        at += length;
    }
    CHECK(at == t.size());
    return m;
}

// Linux's acpi_find_root_pointer (ACPICA tbxfroot.c) on the BIOS area: "RSD PTR " on a 16-byte
// boundary, the ACPI 1.0 checksum over 20 bytes and, for revision 2 and up, the extended one.
std::optional<std::uint64_t> scan_for_rsdp(const GuestMemory& memory)
{
    for (std::uint64_t address = 0xE0000; address + 36 <= 0x100000; address += 16) {
        Bytes b(36);
        REQUIRE(memory.read(address, b));
        if (text_at(b.data(), 8) != "RSD PTR " || byte_sum(b.data(), 20) != 0)
            continue;
        if (b[15] >= 2 && byte_sum(b.data(), 36) != 0)
            continue;
        return address;
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("ACPI 6.5 §5.2.5.3: the RSDP is revision 2 with the XSDT's address and both checksums")
{
    const auto tables = build_acpi_tables({.vcpu_count = 2});
    REQUIRE(tables.rsdp == layout::kAcpiTablesAddress);
    const std::uint8_t* r = tables.bytes.data();
    CHECK(text_at(r, 8) == "RSD PTR ");
    CHECK(byte_sum(r, 20) == 0);
    CHECK(byte_sum(r, 36) == 0);
    CHECK(text_at(r + 9, 6) == "MINIVM");
    CHECK(r[15] == 2);
    CHECK(u32_at(r + 16) == 0);  // no RSDT
    CHECK(u32_at(r + 20) == 36);
    CHECK(u64_at(r + 24) == tables.xsdt);
    CHECK(tables.xsdt % 16 == 0);
}

TEST_CASE("ACPI 6.5 §5.2.6: every table's header: signature, length, revision, OEM ids, checksum (sum 0)")
{
    for (unsigned vcpus : {1u, 2u, 4u, 64u, 254u}) {
        INFO(vcpus << " vCPUs");
        const auto tables = build_acpi_tables({.vcpu_count = vcpus});
        check_header(table_at(tables, tables.xsdt), "XSDT", 1, 36 + 2 * 8);
        check_header(table_at(tables, tables.fadt), "FACP", 6, 276);
        check_header(table_at(tables, tables.dsdt), "DSDT", 2, 36 + 106);
        check_header(table_at(tables, tables.madt), "APIC", 6, 44 + 8 * vcpus + 12 + 6);
    }
}

TEST_CASE("ACPI 6.5 §5.2.8: the XSDT points at the FADT and the MADT")
{
    const auto tables = build_acpi_tables({.vcpu_count = 4});
    const auto xsdt = table_at(tables, tables.xsdt);
    REQUIRE(xsdt.size() == 52);
    CHECK(u64_at(xsdt.data() + 36) == tables.fadt);
    CHECK(u64_at(xsdt.data() + 44) == tables.madt);
    CHECK(text_at(table_at(tables, u64_at(xsdt.data() + 36)).data(), 4) == "FACP");
    CHECK(text_at(table_at(tables, u64_at(xsdt.data() + 44)).data(), 4) == "APIC");
}

TEST_CASE("ACPI 6.5 §5.2.9: the FADT is hardware-reduced, points at the DSDT by X_DSDT and resets through the i8042")
{
    const auto tables = build_acpi_tables({.vcpu_count = 1});
    const auto f = table_at(tables, tables.fadt);
    REQUIRE(f.size() == 276);
    CHECK(u32_at(f.data() + 36) == 0);  // FIRMWARE_CTRL
    CHECK(u32_at(f.data() + 40) == 0);  // DSDT: the 64-bit field is used
    CHECK(u64_at(f.data() + 140) == tables.dsdt);
    CHECK(text_at(table_at(tables, u64_at(f.data() + 140)).data(), 4) == "DSDT");
    CHECK(f[131] == 5);  // FADT Minor Version: ACPI 6.5
    const std::uint32_t flags = u32_at(f.data() + 112);
    CHECK((flags & kFadtFlagHwReducedAcpi) != 0);
    CHECK((flags & kFadtFlagResetRegSup) != 0);
    const std::uint16_t boot_arch = u16_at(f.data() + 109);
    CHECK((boot_arch & kIapcBootArchLegacyDevices) != 0);
    CHECK((boot_arch & kIapcBootArch8042) != 0);
    // RESET_REG: System I/O, 8 bits at port 0x64; RESET_VALUE 0xFE (i8042 "pulse reset line").
    CHECK(f[116] == 1);
    CHECK(f[117] == 8);
    CHECK(u64_at(f.data() + 120) == layout::kI8042CommandPort);
    CHECK(f[128] == 0xfe);
    // No fixed hardware: SCI, SMI_CMD, PM1/PM2/PM timer/GPE blocks are all zero.
    CHECK(u16_at(f.data() + 46) == 0);
    CHECK(u32_at(f.data() + 48) == 0);
    CHECK(std::all_of(f.begin() + 56, f.begin() + 96, [](std::uint8_t b) { return b == 0; }));
    CHECK(std::all_of(f.begin() + 148, f.begin() + 268, [](std::uint8_t b) { return b == 0; }));
}

// The expected AML, assembled by hand from ACPI 6.5 §20 (AML encoding) and §6.4.2 (small resource
// descriptors) for
//   Scope (\_SB) {
//     Device (COM1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, 0)
//       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }) }
//     Device (KBD) { Name (_HID, EisaId ("PNP0303")) Name (_UID, 0)
//       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x60, 0x60, 1, 1) IO (Decode16, 0x64, 0x64, 1, 1)
//                                         IRQNoFlags () {1} }) } }
TEST_CASE("ACPI 6.5 §5.2.11.1/§20: the DSDT's AML body describes COM1 (PNP0501) and the keyboard controller (PNP0303)")
{
    const std::vector<std::uint8_t> expected = {
        0x10, 0x49, 0x06, 0x5c, '_', 'S', 'B', '_',             // Scope (\_SB), PkgLength 105 (2 bytes)
        0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',                   // Device (COM1), PkgLength 43
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01, // Name (_HID, DWord EISAID PNP0501)
        0x08, '_', 'U', 'I', 'D', 0x00,                         // Name (_UID, Zero)
        0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,       // Name (_CRS, Buffer (13) {
        0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,         //   IO Decode16 0x3F8-0x3F8, align 1, length 8
        0x22, 0x10, 0x00,                                       //   IRQ mask 1 << 4
        0x79, 0x00,                                             //   End Tag })
        0x5b, 0x82, 0x33, 'K', 'B', 'D', '_',                   // Device (KBD), PkgLength 51
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03, // Name (_HID, DWord EISAID PNP0303)
        0x08, '_', 'U', 'I', 'D', 0x00,                         // Name (_UID, Zero)
        0x08, '_', 'C', 'R', 'S', 0x11, 0x18, 0x0a, 0x15,       // Name (_CRS, Buffer (21) {
        0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,         //   IO Decode16 0x60-0x60, align 1, length 1
        0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,         //   IO Decode16 0x64-0x64, align 1, length 1
        0x22, 0x02, 0x00,                                       //   IRQ mask 1 << 1
        0x79, 0x00,                                             //   End Tag })
    };
    const auto tables = build_acpi_tables({.vcpu_count = 1});
    const auto dsdt = table_at(tables, tables.dsdt);
    REQUIRE(dsdt.size() == 36 + expected.size());
    CHECK(std::vector<std::uint8_t>(dsdt.begin() + 36, dsdt.end()) == expected);
}

TEST_CASE("ACPI 6.5 §5.2.12: the MADT lists one enabled local APIC per vCPU, one IOAPIC after them and LINT1 NMI")
{
    for (unsigned vcpus : {1u, 2u, 4u, 64u, 254u}) {
        INFO(vcpus << " vCPUs");
        const auto tables = build_acpi_tables({.vcpu_count = vcpus});
        const auto t = table_at(tables, tables.madt);
        CHECK(u32_at(t.data() + 36) == layout::kLapicAddress);
        CHECK(u32_at(t.data() + 40) == kMadtFlagPcatCompat);
        const auto m = parse_madt(t);
        REQUIRE(m.local_apics.size() == vcpus);
        for (unsigned i = 0; i < vcpus; ++i)
            CHECK(m.local_apics[i] == std::make_pair(std::uint8_t(i), std::uint8_t(i)));
        CHECK(m.disabled_local_apics == 0);
        CHECK(m.ioapics == 1);
        CHECK(m.ioapic_id == vcpus);
        CHECK(m.ioapic_address == layout::kIoApicAddress);
        CHECK(m.gsi_base == 0);
        CHECK(m.nmis == 1);
        CHECK(m.nmi_uid == 0xff);
        CHECK(m.nmi_lint == 1);
        CHECK(m.others == 0);  // in particular no interrupt source overrides
    }
}

TEST_CASE("ACPI: 0 vCPUs and more than 254 (8-bit xAPIC ids, IOAPIC id = vCPU count) are refused")
{
    CHECK(acpi_max_vcpus() == 254);
    CHECK_THROWS_AS(build_acpi_tables({.vcpu_count = 0}), UserError);
    CHECK_THROWS_WITH(build_acpi_tables({.vcpu_count = 255}), Contains("use at most 254"));
}

TEST_CASE("ACPI 6.5 §5.2.5.1: a 16-byte scan of 0xE0000-0xFFFFF finds the RSDP, and the chain in memory leads to every table")
{
    const auto memory = GuestMemory::create(layout::ram_ranges(64 * layout::MiB));
    write_mp_table(memory, {.vcpu_count = 4});
    const std::uint64_t rsdp = write_acpi_tables(memory, {.vcpu_count = 4});
    const auto found = scan_for_rsdp(memory);
    REQUIRE(found);
    CHECK(*found == rsdp);
    CHECK(rsdp >= 0xE0000);

    const auto read = [&](std::uint64_t address, std::size_t n) {
        Bytes b(n);
        REQUIRE(memory.read(address, b));
        return b;
    };
    const auto xsdt_address = u64_at(read(rsdp + 24, 8).data());
    const auto xsdt = read(xsdt_address, u32_at(read(xsdt_address + 4, 4).data()));
    CHECK(byte_sum(xsdt.data(), xsdt.size()) == 0);
    const auto madt_address = u64_at(xsdt.data() + 44);
    const auto madt = read(madt_address, u32_at(read(madt_address + 4, 4).data()));
    CHECK(byte_sum(madt.data(), madt.size()) == 0);
    CHECK(parse_madt(madt).local_apics.size() == 4);
    // The tables stay inside their area, clear of the MP configuration table after it.
    CHECK(madt_address + madt.size() <= layout::kAcpiTablesEnd);
}
