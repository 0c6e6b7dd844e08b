// KernelImage: loads a guest kernel file into guest memory: an ELF executable (ELF gABI,
// "Program Header"; a PVH entry from the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY, Xen
// public/elfnote.h) or a Linux bzImage (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
// Header" and "64-bit Boot Protocol"). Anything else is refused naming what the file is.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/boot/bz_image_header.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

enum class KernelKind {
    PvhElf,    // ELF with a PVH entry note: enter in 32-bit protected mode (pvh_entry_state)
    LinuxElf,  // x86-64 Linux vmlinux without the note: zero page + 64-bit entry
    BzImage,   // Linux bzImage: zero page + 64-bit entry at load address + 0x200
};

const char* to_string(KernelKind kind);

struct LoadedRange {
    std::uint64_t start;
    std::uint64_t end;  // exclusive
    bool operator==(const LoadedRange&) const = default;
};

struct KernelImage {
    KernelKind kind;
    // Physical entry address. PvhElf: the 32-bit PVH entry; LinuxElf/BzImage: the 64-bit entry.
    std::uint64_t entry;
    // Guest-physical ranges the kernel occupies, including .bss and, for a bzImage, the
    // decompression buffer (init_size): nothing else may be placed there.
    std::vector<LoadedRange> ranges;
    std::uint64_t lowest;   // min of ranges' starts
    std::uint64_t highest;  // max of ranges' ends (exclusive)
    // BzImage only: the setup header as the file has it, to seed boot_params.hdr.
    std::optional<BzImageHeader> bz_header;
};

// The lowest address a kernel may load at: below 1 MiB live the GDT, zero page, PVH start
// info, page tables, cmdline and MP table.
inline constexpr std::uint64_t kKernelMinimumAddress = layout::kKernelAddress;

// Detects the format of `file` and loads it into `memory`. `name` names the file in error
// messages (e.g. the path). Throws UserError for anything malformed, unsupported or too big.
KernelImage load_kernel(const GuestMemory& memory, std::span<const std::uint8_t> file, const std::string& name);

// What the first bytes of a file that is not a kernel look like, for the error message:
// "an empty file", "gzip data", "text", ... (exposed for tests).
std::string describe_non_kernel(std::span<const std::uint8_t> file);

} // namespace minivmm::boot
