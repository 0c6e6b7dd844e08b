// Tests for the guest memory map (e820 / PVH memmap).
#include <catch2/catch.hpp>

#include "vmm/boot/e820_entry.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using layout::GiB;
using layout::MiB;

namespace {

const std::vector<E820Entry> kLowMemory = {
    {0, 0x9fc00, E820Type::Ram},
    {0x9fc00, 0x400, E820Type::Reserved},
    {0xa0000, 0x60000, E820Type::Reserved},
};

std::vector<E820Entry> with(std::vector<E820Entry> entries)
{
    auto all = kLowMemory;
    all.insert(all.end(), entries.begin(), entries.end());
    return all;
}

} // namespace

TEST_CASE("e820: a 64 MiB guest has low RAM, the EBDA and legacy hole reserved, RAM from 1 MiB to 64 MiB")
{
    CHECK(e820_map(layout::ram_ranges(64 * MiB)) == with({{0x100000, 63 * MiB, E820Type::Ram}}));
}

TEST_CASE("e820: a 3 GiB guest's RAM ends at the MMIO hole, with nothing above 4 GiB")
{
    CHECK(e820_map(layout::ram_ranges(3 * GiB)) == with({{0x100000, 3 * GiB - MiB, E820Type::Ram}}));
}

TEST_CASE("e820: a 5 GiB guest has 3 GiB below the hole and 2 GiB from 4 GiB")
{
    CHECK(e820_map(layout::ram_ranges(5 * GiB))
        == with({{0x100000, 3 * GiB - MiB, E820Type::Ram}, {4 * GiB, 2 * GiB, E820Type::Ram}}));
}

TEST_CASE("e820: the MMIO hole (IOAPIC, LAPIC, virtio-mmio) is never RAM or reserved")
{
    for (const auto& entry : e820_map(layout::ram_ranges(5 * GiB))) {
        CHECK((entry.end() <= layout::kMmioHoleStart || entry.address >= layout::kMmioHoleEnd));
    }
}
