// Initrd placement (see initrd.hpp; Linux boot.rst, "initrd_addr_max").
#include "vmm/boot/initrd.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::boot {

namespace {

constexpr std::uint64_t kPageSize = 4096;

std::string mib(std::uint64_t bytes)
{
    if (bytes % layout::MiB == 0)
        return fmt::format("{} MiB", bytes / layout::MiB);
    return fmt::format("{:.1f} MiB", double(bytes) / double(layout::MiB));
}

} // namespace

std::uint64_t place_initrd(std::uint64_t size, std::span<const layout::RamRange> ranges, std::uint64_t kernel_end,
    std::uint64_t max_address)
{
    // Low RAM: the range that starts at address 0 (layout::ram_ranges() always has it).
    const auto low = std::find_if(ranges.begin(), ranges.end(),
        [](const layout::RamRange& range) { return range.guest_address == 0; });
    if (low == ranges.end())
        throw std::logic_error("place_initrd: the guest has no RAM at address 0");
    // A kernel linked for 64-bit kernels may take an initrd up to 4 GiB, but the MMIO hole
    // starts at 3 GiB and initrd_addr_max still caps older kernels; the lowest bound wins.
    std::uint64_t top = std::min(low->end(), layout::kMmioHoleStart);
    if (max_address != kNoInitrdAddressLimit)
        top = std::min(top, max_address + 1);

    const auto refuse = [&]() {
        const std::uint64_t room = top > kernel_end ? top - kernel_end : 0;
        return UserError(fmt::format("initrd of {} does not fit in {} of guest RAM below {:#x} with the kernel; give "
                                     "the guest more memory (--memory)", mib(size), mib(room), top));
    };
    if (size > top)
        throw refuse();
    const std::uint64_t address = (top - size) & ~(kPageSize - 1);
    if (address < kernel_end)
        throw refuse();
    return address;
}

InitrdPlacement load_initrd(const GuestMemory& memory, std::span<const std::uint8_t> initrd, const std::string& name,
    std::span<const layout::RamRange> ranges, std::uint64_t kernel_end, std::uint64_t max_address)
{
    if (initrd.empty())
        throw UserError(fmt::format("initrd {}: the file is empty: pass a cpio archive or leave --initrd out", name));
    const std::uint64_t address = place_initrd(initrd.size(), ranges, kernel_end, max_address);
    if (!memory.write(address, initrd))
        throw std::logic_error("load_initrd: a placed initrd is not inside guest memory");
    return {address, initrd.size()};
}

} // namespace minivmm::boot
