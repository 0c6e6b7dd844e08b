// Tests for the Linux zero page and the full boot sequence (guest_boot).
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/acpi_tables.hpp"
#include "vmm/boot/guest_boot.hpp"
#include "vmm/boot/mp_table.hpp"
#include "vmm/boot/pvh_start_info.hpp"
#include "vmm/boot/zero_page.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using namespace minivmm::boot::test;
using Catch::Matchers::Contains;
using layout::GiB;
using layout::MiB;

TEST_CASE("zero page: header copied from the file, loader 0xff, LOADED_HIGH, cmdline, initrd, e820")
{
    const auto ranges = layout::ram_ranges(5 * GiB);
    const auto memory = GuestMemory::create(ranges);
    const auto kernel = load_kernel(memory, make_bz_image({}), "bz");
    const auto map = e820_map(ranges);
    REQUIRE(write_zero_page(memory, kernel, "console=ttyS0", InitrdPlacement{0x5000000, 777}, map, 0)
        == layout::kZeroPageAddress);
    const auto params = *memory.read_obj<boot_params>(layout::kZeroPageAddress);
    CHECK(params.hdr.header == 0x53726448);
    CHECK(params.hdr.version == 0x020f);
    CHECK(params.hdr.xloadflags == XLF_KERNEL_64);
    CHECK(params.hdr.type_of_loader == 0xff);
    CHECK((params.hdr.loadflags & LOADED_HIGH) != 0);
    CHECK((params.hdr.loadflags & KEEP_SEGMENTS) == 0);
    CHECK(params.hdr.cmd_line_ptr == layout::kCmdlineAddress);
    CHECK(params.ext_cmd_line_ptr == 0);
    CHECK(params.hdr.ramdisk_image == 0x5000000);
    CHECK(params.hdr.ramdisk_size == 777);
    CHECK(params.ext_ramdisk_image == 0);
    CHECK(params.sentinel == 0);
    REQUIRE(params.e820_entries == map.size());
    const auto& last = params.e820_table[map.size() - 1];
    CHECK(last.addr == 4 * GiB);  // RAM above the hole is in the table
    CHECK(last.size == 2 * GiB);
    CHECK(last.type == 1);
}

TEST_CASE("zero page: a command line longer than the kernel's cmdline_size is refused with both numbers")
{
    const auto memory = guest_memory(64 * MiB);
    const auto kernel = load_kernel(memory, make_bz_image({.cmdline_size = 10}), "bz");
    const auto map = e820_map(layout::ram_ranges(64 * MiB));
    CHECK_NOTHROW(write_zero_page(memory, kernel, "0123456789", std::nullopt, map, 0));
    CHECK_THROWS_WITH(write_zero_page(memory, kernel, "0123456789A", std::nullopt, map, 0),
        Contains("11 bytes, longer than the kernel's cmdline_size (10 bytes)"));
}

TEST_CASE("zero page: an ELF vmlinux gets a minimal header (HdrS, boot flag) and the same fields")
{
    const auto memory = guest_memory(64 * MiB);
    const auto kernel = load_kernel(memory, make_elf64(0x1000000, {{0x1000000, 0xffffffff81000000, {0xf4}, 0x1000}}), "v");
    const auto params = build_zero_page(kernel, std::nullopt, e820_map(layout::ram_ranges(64 * MiB)), 0xE0000);
    CHECK(params.hdr.boot_flag == 0xaa55);
    CHECK(params.hdr.header == 0x53726448);
    CHECK(params.hdr.type_of_loader == 0xff);
    CHECK(params.hdr.cmd_line_ptr == layout::kCmdlineAddress);
    CHECK(params.hdr.ramdisk_image == 0);
    CHECK(params.acpi_rsdp_addr == 0);  // a synthetic 2.10 header: the kernel scans for the RSDP
}

TEST_CASE("boot.rst/zero-page.rst: acpi_rsdp_addr is set from protocol 2.14 on, left 0 before")
{
    const auto memory = guest_memory(64 * MiB);
    const auto map = e820_map(layout::ram_ranges(64 * MiB));
    for (const auto& [version, expected] : {std::pair<std::uint16_t, std::uint64_t>{0x020f, 0xE0000}, {0x020e, 0xE0000},
             {0x020d, 0}, {0x020c, 0}}) {
        INFO("protocol " << std::hex << version);
        const auto kernel = load_kernel(memory, make_bz_image({.version = version}), "bz");
        CHECK(build_zero_page(kernel, std::nullopt, map, 0xE0000).acpi_rsdp_addr == expected);
    }
}

TEST_CASE("guest boot: a bzImage's initrd sits below initrd_addr_max and above the kernel")
{
    const auto ranges = layout::ram_ranges(3 * GiB);
    const auto memory = GuestMemory::create(ranges);
    const auto kernel = make_bz_image({.initrd_addr_max = 0x0fffffff});
    const std::vector<std::uint8_t> initrd(3 * 4096 + 5, 0x11);
    BootFiles files{kernel, "bz", std::span<const std::uint8_t>(initrd), "i", "console=ttyS0", 2};
    const auto boot = prepare_guest_boot(memory, ranges, files);
    REQUIRE(boot.initrd);
    CHECK(boot.initrd->address + boot.initrd->size - 1 <= 0x0fffffff);
    CHECK(boot.initrd->address == 0x10000000 - 4 * 4096);
    CHECK(boot.initrd->address >= boot.kernel.highest);
    const auto params = *memory.read_obj<boot_params>(layout::kZeroPageAddress);
    CHECK(params.hdr.ramdisk_image == boot.initrd->address);
    CHECK(boot.entry_state.rip == 0x100200);
    CHECK(boot.entry_state.rsi == layout::kZeroPageAddress);
    CHECK(*memory.read_obj<std::uint32_t>(layout::kMpTableAddress) == 0x5f504d5f);
    // Every boot gets the ACPI tables too, and a 2.15 kernel is told where the RSDP is.
    CHECK(params.acpi_rsdp_addr == layout::kAcpiTablesAddress);
    CHECK(*memory.read_obj<std::uint64_t>(layout::kAcpiTablesAddress) == 0x2052545020445352);  // "RSD PTR "
}

TEST_CASE("guest boot: a PVH ELF enters in 32-bit mode with EBX = start info and its initrd as module 0")
{
    const auto ranges = layout::ram_ranges(64 * MiB);
    const auto memory = GuestMemory::create(ranges);
    const auto kernel = make_elf64(0, {{0x100000, 0x100000, {0xf4}, 0x1000}}, {pvh_note(0x100000)});
    const std::vector<std::uint8_t> initrd(100, 0x22);
    BootFiles files{kernel, "k", std::span<const std::uint8_t>(initrd), "i", "x", 1};
    const auto boot = prepare_guest_boot(memory, ranges, files);
    CHECK(boot.entry_state.rip == 0x100000);
    CHECK(boot.entry_state.rbx == layout::kPvhStartInfoAddress);
    CHECK(boot.entry_state.cs.l == 0);
    const auto info = *memory.read_obj<HvmStartInfo>(layout::kPvhStartInfoAddress);
    CHECK(info.nr_modules == 1);
    CHECK(memory.read_obj<HvmModlistEntry>(info.modlist_paddr)->paddr == boot.initrd->address);
    CHECK(info.rsdp_paddr == layout::kAcpiTablesAddress);
    CHECK(*memory.read_obj<std::uint64_t>(info.rsdp_paddr) == 0x2052545020445352);  // "RSD PTR "
    CHECK(*memory.read_obj<std::uint32_t>(layout::kMpTableAddress) == 0x5f504d5f);  // "_MP_"
}
