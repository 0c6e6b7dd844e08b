#include "vmm/memory/memory_layout.hpp"

#include <algorithm>

namespace minivmm::layout {

std::vector<RamRange> ram_ranges(std::uint64_t size)
{
    std::vector<RamRange> ranges;
    const std::uint64_t low = std::min(size, kMmioHoleStart);
    ranges.push_back({0, low});
    if (size > low)
        ranges.push_back({kHighRamStart, size - low});
    return ranges;
}

} // namespace minivmm::layout
