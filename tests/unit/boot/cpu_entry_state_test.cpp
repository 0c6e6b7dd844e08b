// Tests for the boot GDT, PVH and long-mode entry states and identity page tables.
#include <catch2/catch.hpp>

#include "tests/unit/boot/test_images.hpp"
#include "vmm/boot/cpu_entry_state.hpp"

using namespace minivmm;
using namespace minivmm::boot;

namespace {

std::uint64_t gdt_slot(const GuestMemory& memory, std::uint16_t selector)
{
    return *memory.read_obj<std::uint64_t>(layout::kGdtAddress + selector);
}

} // namespace

TEST_CASE("SDM §3.4.5: a flat 4 GiB 32-bit code segment encodes as 0x00cf9b000000ffff")
{
    CHECK(gdt_descriptor(flat_code32_segment()) == 0x00cf9b000000ffffull);
    CHECK(gdt_descriptor(flat_code64_segment()) == 0x00af9b000000ffffull);
    CHECK(gdt_descriptor(flat_data_segment()) == 0x00cf93000000ffffull);
    CHECK(gdt_descriptor(boot_tss_segment()) == 0x00008b0000000067ull);
}

TEST_CASE("PVH entry: 32-bit protected mode, paging off, EBX = start info, interrupts off")
{
    const auto memory = test::guest_memory(64 * layout::MiB);
    const auto state = pvh_entry_state(memory, 0x1000000, layout::kPvhStartInfoAddress);
    CHECK(state.rip == 0x1000000);
    CHECK(state.rbx == layout::kPvhStartInfoAddress);
    CHECK((state.cr0 & kCr0Pe) != 0);
    CHECK((state.cr0 & kCr0Pg) == 0);
    CHECK(state.cr4 == 0);
    CHECK(state.efer == 0);
    CHECK(state.rflags == 0x2);
    CHECK(state.cs.db == 1);
    CHECK(state.cs.l == 0);
    CHECK(state.cs.limit == 0xffffffff);
    CHECK(state.ss == flat_data_segment());
    CHECK(state.ds == flat_data_segment());
    CHECK(state.tr.base == 0);
    CHECK(state.tr.limit == 0x67);
}

TEST_CASE("Each entry state's segment registers match the descriptors written in the GDT")
{
    const auto memory = test::guest_memory(64 * layout::MiB);
    for (const auto& state : {pvh_entry_state(memory, 0x100000, 0x6000), long_mode_entry_state(memory, 0x100200, 0x7000)}) {
        CHECK(state.gdt_base == layout::kGdtAddress);
        CHECK(state.gdt_limit == kGdtSize - 1);
        for (const Segment* segment : {&state.cs, &state.ds, &state.es, &state.ss, &state.tr})
            CHECK(gdt_slot(memory, segment->selector) == gdt_descriptor(*segment));
    }
}

TEST_CASE("boot.rst 64-bit protocol: __BOOT_CS = 0x10 is 64-bit code, __BOOT_DS = 0x18 is data")
{
    const auto memory = test::guest_memory(64 * layout::MiB);
    const auto state = long_mode_entry_state(memory, 0x100200, layout::kZeroPageAddress);
    CHECK(state.cs.selector == 0x10);
    CHECK(state.cs.l == 1);
    CHECK(state.cs.db == 0);
    CHECK(state.ds.selector == 0x18);
    CHECK(state.ss.selector == 0x18);
    CHECK(state.rsi == layout::kZeroPageAddress);
    CHECK(state.rip == 0x100200);
    CHECK(state.cr0 == (kCr0Pe | kCr0Et | kCr0Pg));
    CHECK(state.cr4 == kCr4Pae);
    CHECK(state.efer == (kEferLme | kEferLma));
    CHECK(state.cr3 == layout::kPageTablesAddress);
    CHECK((state.rflags & (1u << 9)) == 0);
}

TEST_CASE("Identity page tables map [0, 4 GiB) with 2 MiB pages: virtual == physical")
{
    const auto memory = test::guest_memory(64 * layout::MiB);
    const std::uint64_t cr3 = write_identity_page_tables(memory);
    // Walk the tables for a few addresses, as the MMU would (SDM §4.5).
    for (std::uint64_t address : {0x0ull, 0x100000ull, 0x1234567ull, 0xbfffffffull, 0xfee00000ull, 0xffffffffull}) {
        const auto pml4e = *memory.read_obj<std::uint64_t>(cr3 + ((address >> 39) & 511) * 8);
        REQUIRE((pml4e & 1) == 1);
        const auto pdpte = *memory.read_obj<std::uint64_t>((pml4e & ~0xfffull) + ((address >> 30) & 511) * 8);
        REQUIRE((pdpte & 1) == 1);
        REQUIRE((pdpte & 0x80) == 0);
        const auto pde = *memory.read_obj<std::uint64_t>((pdpte & ~0xfffull) + ((address >> 21) & 511) * 8);
        REQUIRE((pde & 0x83) == 0x83);
        CHECK((pde & ~0x1fffffull & 0x000ffffffffff000ull) + (address & 0x1fffff) == address);
    }
    // Nothing above 4 GiB: PDPT entry 4 is not present.
    const auto pml4e = *memory.read_obj<std::uint64_t>(cr3);
    CHECK(*memory.read_obj<std::uint64_t>((pml4e & ~0xfffull) + 4 * 8) == 0);
    CHECK(layout::kPageTablesAddress + kPageTablesSize <= layout::kCmdlineAddress);
}
