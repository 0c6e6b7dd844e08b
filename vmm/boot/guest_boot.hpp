// GuestBoot: the whole boot-time setup of guest memory in one call — kernel, initrd, cmdline,
// MP table, ACPI tables (ACPI 6.5 §5.2 "ACPI System Description Tables"), then PVH start info (Xen pvh.pandoc) or the Linux zero page (boot.rst, "64-bit Boot
// Protocol") — returning the boot vCPU's entry state. The VM layer's single entry into boot/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "vmm/boot/cpu_entry_state.hpp"
#include "vmm/boot/initrd.hpp"
#include "vmm/boot/kernel_image.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

struct GuestBoot {
    KernelImage kernel;
    std::optional<InitrdPlacement> initrd;
    CpuEntryState entry_state;  // for vCPU 0; the others wait for INIT/SIPI in the in-kernel LAPIC
};

struct BootFiles {
    std::span<const std::uint8_t> kernel;
    std::string kernel_name;                              // for messages, e.g. the path
    std::optional<std::span<const std::uint8_t>> initrd;
    std::string initrd_name;
    std::string cmdline;
    unsigned vcpu_count = 1;
};

// Loads everything into `memory` (whose RAM is `ranges`). Throws UserError for bad input.
GuestBoot prepare_guest_boot(const GuestMemory& memory, std::span<const layout::RamRange> ranges, const BootFiles& files);

// The same, reading the kernel and initrd from files.
GuestBoot prepare_guest_boot(const GuestMemory& memory, std::span<const layout::RamRange> ranges,
    const std::filesystem::path& kernel, const std::optional<std::filesystem::path>& initrd, const std::string& cmdline,
    unsigned vcpu_count);

} // namespace minivmm::boot
