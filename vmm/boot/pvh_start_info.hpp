// The PVH boot information handed to a PVH kernel in EBX: struct hvm_start_info version 1 with
// its module list and memory map (Xen public/arch-x86/hvm/start_info.h; Xen docs/misc/pvh.pandoc).
// Xen's headers are not installed here, so the layouts are declared from the spec text.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "vmm/boot/e820_entry.hpp"
#include "vmm/boot/initrd.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// start_info.h: "XEN_HVM_START_MAGIC_VALUE 0x336ec578".
inline constexpr std::uint32_t kHvmStartMagicValue = 0x336ec578;

struct HvmStartInfo {
    std::uint32_t magic;
    std::uint32_t version;        // 1: memmap_paddr/memmap_entries are present
    std::uint32_t flags;
    std::uint32_t nr_modules;
    std::uint64_t modlist_paddr;  // array of HvmModlistEntry
    std::uint64_t cmdline_paddr;
    std::uint64_t rsdp_paddr;     // 0: no ACPI
    std::uint64_t memmap_paddr;   // array of HvmMemmapTableEntry
    std::uint32_t memmap_entries;
    std::uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);

struct HvmModlistEntry {
    std::uint64_t paddr;
    std::uint64_t size;
    std::uint64_t cmdline_paddr;  // 0: no module command line
    std::uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

struct HvmMemmapTableEntry {
    std::uint64_t addr;
    std::uint64_t size;
    std::uint32_t type;           // E820 types (XEN_HVM_MEMMAP_TYPE_RAM = 1, ..._RESERVED = 2)
    std::uint32_t reserved;
};
static_assert(sizeof(HvmMemmapTableEntry) == 24);

// The area reserved for start info + modlist + memmap: [kPvhStartInfoAddress, kZeroPageAddress).
inline constexpr std::uint64_t kPvhStartInfoAreaSize = layout::kZeroPageAddress - layout::kPvhStartInfoAddress;

// Writes the cmdline (NUL-terminated, at most layout::kCmdlineMaxSize - 1 bytes) at
// layout::kCmdlineAddress and the start info at layout::kPvhStartInfoAddress, followed by the
// module list (the initrd as module 0, when given) and the memory map; rsdp_paddr is
// `rsdp_address` (0: no ACPI tables, start_info.h). Returns the start info's
// address (the EBX value). Throws UserError for a cmdline too long, std::logic_error when the
// tables outgrow their area (a map with more than ~160 entries: our bug).
std::uint64_t write_pvh_start_info(const GuestMemory& memory, std::string_view cmdline,
    std::optional<InitrdPlacement> initrd, std::span<const E820Entry> memmap, std::uint64_t rsdp_address);

} // namespace minivmm::boot
