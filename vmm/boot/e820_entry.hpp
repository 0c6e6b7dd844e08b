// E820Entry and the guest's memory map, shared by the Linux zero page's e820_table
// (Documentation/arch/x86/zero-page.rst) and the PVH memmap (Xen start_info.h,
// hvm_memmap_table_entry), whose type values are the ACPI/E820 address range types.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/memory/memory_layout.hpp"

namespace minivmm::boot {

// ACPI 6.5 §15.1 "INT 15H, E820H - Query System Address Map", Table 15.1 (Address Range Types),
// as in <asm/e820.h> (E820_RAM, E820_RESERVED).
enum class E820Type : std::uint32_t {
    Ram = 1,
    Reserved = 2,
};

struct E820Entry {
    std::uint64_t address;
    std::uint64_t size;
    E820Type type;
    [[nodiscard]] std::uint64_t end() const { return address + size; }
    bool operator==(const E820Entry&) const = default;
};

// The map for a guest whose RAM is `ranges` (layout::ram_ranges()), sorted by address:
//   [0, 0x9fc00)            RAM
//   [0x9fc00, 0xa0000)      reserved: the EBDA, where the MP table lives
//   [0xa0000, 0x100000)     reserved: the legacy VGA/ROM hole
//   [0x100000, low end)     RAM
//   [4 GiB, ...)            RAM above the MMIO hole
// The MMIO hole [0xC0000000, 4 GiB) is left out, deliberately (see e820_entry.cpp).
std::vector<E820Entry> e820_map(std::span<const layout::RamRange> ranges);

} // namespace minivmm::boot
