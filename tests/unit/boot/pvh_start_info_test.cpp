// Tests for the PVH start info, module list, memory map and command line.
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/pvh_start_info.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using Catch::Matchers::Contains;

TEST_CASE("start_info.h: version 1 start info with cmdline, initrd as module 0 and the memmap")
{
    const auto ranges = layout::ram_ranges(64 * layout::MiB);
    const auto memory = GuestMemory::create(ranges);
    const auto map = e820_map(ranges);
    const auto address = write_pvh_start_info(memory, "console=ttyS0", InitrdPlacement{0x3000000, 1234}, map, 0xE0000);
    CHECK(address == layout::kPvhStartInfoAddress);

    const auto info = *memory.read_obj<HvmStartInfo>(address);
    CHECK(info.magic == 0x336ec578);
    CHECK(info.version == 1);
    CHECK(info.nr_modules == 1);
    CHECK(info.cmdline_paddr == layout::kCmdlineAddress);
    CHECK(info.rsdp_paddr == 0xE0000);
    const auto module = *memory.read_obj<HvmModlistEntry>(info.modlist_paddr);
    CHECK(module.paddr == 0x3000000);
    CHECK(module.size == 1234);
    REQUIRE(info.memmap_entries == map.size());
    for (std::size_t i = 0; i < map.size(); ++i) {
        const auto entry = *memory.read_obj<HvmMemmapTableEntry>(info.memmap_paddr + i * sizeof(HvmMemmapTableEntry));
        CHECK(entry.addr == map[i].address);
        CHECK(entry.size == map[i].size);
        CHECK(entry.type == static_cast<std::uint32_t>(map[i].type));
    }
    CHECK(info.memmap_paddr + map.size() * sizeof(HvmMemmapTableEntry) <= layout::kZeroPageAddress);

    char cmdline[15] = {};
    REQUIRE(memory.read(layout::kCmdlineAddress, {reinterpret_cast<std::uint8_t*>(cmdline), 14}));
    CHECK(std::string(cmdline) == "console=ttyS0");
}

TEST_CASE("start_info.h: without an initrd there are no modules")
{
    const auto ranges = layout::ram_ranges(64 * layout::MiB);
    const auto memory = GuestMemory::create(ranges);
    const auto info = *memory.read_obj<HvmStartInfo>(write_pvh_start_info(memory, "", std::nullopt, e820_map(ranges), 0));
    CHECK(info.nr_modules == 0);
    CHECK(info.modlist_paddr == 0);
    CHECK(info.memmap_paddr == layout::kPvhStartInfoAddress + sizeof(HvmStartInfo));
}

TEST_CASE("PVH: a command line longer than its area is refused with the length and the limit")
{
    const auto ranges = layout::ram_ranges(64 * layout::MiB);
    const auto memory = GuestMemory::create(ranges);
    const std::string longest(layout::kCmdlineMaxSize - 1, 'x');
    CHECK_NOTHROW(write_pvh_start_info(memory, longest, std::nullopt, e820_map(ranges), 0));
    CHECK_THROWS_WITH(write_pvh_start_info(memory, longest + "x", std::nullopt, e820_map(ranges), 0),
        Contains("65536 bytes, longer than minivmm's command-line area (65535 bytes)"));
}
