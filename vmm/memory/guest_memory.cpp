#include "vmm/memory/guest_memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <stdexcept>

namespace minivmm {

GuestMemory GuestMemory::create(std::span<const layout::RamRange> ranges, Backing backing)
{
    std::vector<Region> regions;
    for (const auto& range : ranges) {
        // Ordinary pages, MAP_NORESERVE: the host commits pages only when the guest touches
        // them, so a large guest costs what it uses. Huge pages are reserved instead: with
        // MAP_NORESERVE an empty or too small pool still lets mmap succeed and the guest's first
        // touch of a page the pool cannot supply is a SIGBUS that kills the VMM. Without it the
        // kernel reserves every huge page of the mapping at mmap time and refuses with ENOMEM
        // (Documentation/admin-guide/mm/hugetlbpage.rst, "HugePages_Rsvd"), which the caller
        // can answer by falling back to ordinary pages.
        int flags = MAP_PRIVATE | MAP_ANONYMOUS;
        flags |= backing == Backing::HugePages ? MAP_HUGETLB : MAP_NORESERVE;
        Mapping mapping = Mapping::map(range.size, PROT_READ | PROT_WRITE, flags);
        // Transparent huge pages where the host allows them (madvise mode): guest buffers become
        // physically contiguous, so a 1 MiB guest I/O reaches the disk as one request instead of
        // being split at the device's segment limit, and KVM maps guest RAM with 2 MiB pages.
        // Advice only: a host without THP ignores it.
        if (backing == Backing::Anonymous)
            (void)::madvise(mapping.data(), mapping.size(), MADV_HUGEPAGE);
        regions.push_back({range.guest_address, std::move(mapping)});
    }
    return GuestMemory(std::move(regions));
}

GuestMemory::GuestMemory(std::vector<Region> regions) : m_regions(std::move(regions))
{
    std::sort(m_regions.begin(), m_regions.end(),
        [](const Region& a, const Region& b) { return a.guest_address < b.guest_address; });
    for (std::size_t i = 0; i < m_regions.size(); ++i) {
        const auto& region = m_regions[i];
        if (region.size() == 0 || region.guest_address + region.size() < region.guest_address)
            throw std::invalid_argument("guest memory region is empty or wraps the address space");
        if (i > 0 && m_regions[i - 1].end() > region.guest_address)
            throw std::invalid_argument("guest memory regions overlap");
    }
}

std::uint64_t GuestMemory::total_size() const
{
    std::uint64_t total = 0;
    for (const auto& region : m_regions)
        total += region.size();
    return total;
}

std::optional<std::span<std::uint8_t>> GuestMemory::slice(std::uint64_t address, std::uint64_t length) const
{
    for (const auto& region : m_regions) {
        if (address < region.guest_address)
            continue;
        const std::uint64_t offset = address - region.guest_address;
        // offset <= size and length <= size - offset: no sum that could overflow.
        if (offset > region.size() || length > region.size() - offset)
            continue;
        return std::span<std::uint8_t>(region.mapping.data() + offset, length);
    }
    return std::nullopt;
}

bool GuestMemory::read(std::uint64_t address, std::span<std::uint8_t> out) const
{
    auto bytes = slice(address, out.size());
    if (!bytes)
        return false;
    if (!out.empty())
        std::memcpy(out.data(), bytes->data(), out.size());
    return true;
}

bool GuestMemory::write(std::uint64_t address, std::span<const std::uint8_t> in) const
{
    auto bytes = slice(address, in.size());
    if (!bytes)
        return false;
    if (!in.empty())
        std::memcpy(bytes->data(), in.data(), in.size());
    return true;
}

} // namespace minivmm
