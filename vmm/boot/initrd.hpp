// Initrd placement and loading: at the top of low RAM, page-aligned, above the kernel and below
// the kernel's limit (Linux boot.rst, "ramdisk_image", "initrd_addr_max"; for PVH the initrd is
// module 0 of Xen start_info.h's modlist).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

struct InitrdPlacement {
    std::uint64_t address;
    std::uint64_t size;
    bool operator==(const InitrdPlacement&) const = default;
};

// No limit beyond the MMIO hole (PVH and ELF vmlinux, whose limit is not in the file).
inline constexpr std::uint64_t kNoInitrdAddressLimit = ~std::uint64_t(0);

// The highest 4 KiB-aligned address at which `size` bytes end at or below
// min(end of the RAM range at 0, 0xC0000000, max_address + 1) and start at or above
// `kernel_end`. `max_address` is the last byte the initrd may occupy, as initrd_addr_max is.
// Throws UserError when it does not fit.
std::uint64_t place_initrd(std::uint64_t size, std::span<const layout::RamRange> ranges, std::uint64_t kernel_end,
    std::uint64_t max_address);

// Places `initrd` with place_initrd() and copies it into `memory`. `name` names the file in
// messages. Throws UserError for an empty file or one that does not fit.
InitrdPlacement load_initrd(const GuestMemory& memory, std::span<const std::uint8_t> initrd, const std::string& name,
    std::span<const layout::RamRange> ranges, std::uint64_t kernel_end, std::uint64_t max_address);

} // namespace minivmm::boot
