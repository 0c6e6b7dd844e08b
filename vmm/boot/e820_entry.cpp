// The guest's E820 memory map (see e820_entry.hpp; ACPI 6.5 §15.1 "INT 15H, E820H").
#include "vmm/boot/e820_entry.hpp"

#include <algorithm>

namespace minivmm::boot {

// Why the MMIO hole, the IOAPIC and the LAPIC pages are not e820 entries: Linux learns the
// IOAPIC and LAPIC addresses from the MP table and claims those pages itself, and it chooses
// the window for PCI BARs from the largest gap below 4 GiB in the e820 map
// (e820__setup_pci_gap). Marking the hole reserved would remove that gap, so it stays absent,
// as on real firmware that reports no entry for MMIO.
std::vector<E820Entry> e820_map(std::span<const layout::RamRange> ranges)
{
    // Low memory below 1 MiB is reserved from the EBDA up; everything else that is RAM is RAM.
    struct Carve {
        std::uint64_t start, end;
    };
    constexpr Carve kReserved[] = {
        {layout::kEbdaStart, layout::kLegacyHoleStart},
        {layout::kLegacyHoleStart, layout::kLegacyHoleEnd},
    };

    std::vector<layout::RamRange> sorted(ranges.begin(), ranges.end());
    std::sort(sorted.begin(), sorted.end(),
        [](const auto& a, const auto& b) { return a.guest_address < b.guest_address; });

    std::vector<E820Entry> map;
    const auto add = [&](std::uint64_t start, std::uint64_t end, E820Type type) {
        if (start < end)
            map.push_back({start, end - start, type});
    };
    for (const auto& range : sorted) {
        std::uint64_t cursor = range.guest_address;
        const std::uint64_t end = range.end();
        for (const auto& carve : kReserved) {
            if (carve.end <= cursor || carve.start >= end)
                continue;
            add(cursor, std::max(cursor, carve.start), E820Type::Ram);
            add(std::max(cursor, carve.start), std::min(end, carve.end), E820Type::Reserved);
            cursor = std::min(end, carve.end);
        }
        add(cursor, end, E820Type::Ram);
    }
    return map;
}

} // namespace minivmm::boot
