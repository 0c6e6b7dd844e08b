// Tests for initrd placement: top of low RAM, 4 KiB aligned, above the kernel, below the limit.
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/initrd.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using Catch::Matchers::Contains;
using layout::GiB;
using layout::MiB;

TEST_CASE("initrd: placed at the top of low RAM, aligned down to 4 KiB")
{
    const auto ranges = layout::ram_ranges(64 * MiB);
    CHECK(place_initrd(0x1000, ranges, 2 * MiB, kNoInitrdAddressLimit) == 64 * MiB - 0x1000);
    CHECK(place_initrd(0x1001, ranges, 2 * MiB, kNoInitrdAddressLimit) == 64 * MiB - 0x2000);
}

TEST_CASE("initrd: never above the MMIO hole, even in a guest with RAM above 4 GiB")
{
    CHECK(place_initrd(MiB, layout::ram_ranges(5 * GiB), 2 * MiB, kNoInitrdAddressLimit) == 3 * GiB - MiB);
}

TEST_CASE("boot.rst initrd_addr_max: the initrd's last byte is at or below the kernel's limit")
{
    const auto ranges = layout::ram_ranges(3 * GiB);
    const std::uint64_t address = place_initrd(MiB, ranges, 2 * MiB, 0x37ffffff);
    CHECK(address == 0x38000000 - MiB);
    CHECK(address + MiB - 1 <= 0x37ffffff);
}

TEST_CASE("initrd: one that does not fit above the kernel is refused with the numbers")
{
    const auto ranges = layout::ram_ranges(64 * MiB);
    CHECK_THROWS_WITH(place_initrd(60 * MiB, ranges, 8 * MiB, kNoInitrdAddressLimit),
        Contains("initrd of 60 MiB does not fit in 56 MiB of guest RAM below 0x4000000 with the kernel; "
                 "give the guest more memory (--memory)"));
    CHECK_THROWS_WITH(place_initrd(65 * MiB, ranges, 8 * MiB, kNoInitrdAddressLimit), Contains("does not fit"));
    // Exactly the room there is fits.
    CHECK(place_initrd(56 * MiB, ranges, 8 * MiB, kNoInitrdAddressLimit) == 8 * MiB);
}

TEST_CASE("initrd: load_initrd copies the file and refuses an empty one")
{
    const auto ranges = layout::ram_ranges(16 * MiB);
    const auto memory = GuestMemory::create(ranges);
    const std::vector<std::uint8_t> file = {'0', '7', '0', '7', '0', '1'};
    const auto placed = load_initrd(memory, file, "i", ranges, 2 * MiB, kNoInitrdAddressLimit);
    CHECK(placed == InitrdPlacement{16 * MiB - 0x1000, 6});
    CHECK(*memory.read_obj<std::uint8_t>(placed.address + 5) == '1');
    CHECK_THROWS_WITH(load_initrd(memory, {}, "i", ranges, 2 * MiB, kNoInitrdAddressLimit), Contains("empty"));
}
