// The Linux "zero page" (struct boot_params from <asm/bootparam.h>) at layout::kZeroPageAddress,
// filled as a boot loader must for the 64-bit entry (Linux boot.rst, "64-bit Boot Protocol",
// "Details of Header Fields"; Documentation/arch/x86/zero-page.rst).
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "vmm/boot/e820_entry.hpp"
#include "vmm/boot/initrd.hpp"
#include "vmm/boot/kernel_image.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// x86's COMMAND_LINE_SIZE: the limit for an ELF vmlinux, whose cmdline_size is not in the file.
inline constexpr std::uint32_t kLinuxElfCmdlineSize = 2048 - 1;
// boot.rst, "initrd_addr_max": the default for kernels that do not state it; used for an ELF
// vmlinux too, whose header is not in the file.
inline constexpr std::uint32_t kDefaultInitrdAddrMax = 0x37ffffff;

// boot.rst, "Protocol 2.14" and zero-page.rst "acpi_rsdp_addr" (boot_params offset 0x070): kernels
// from protocol 2.14 on read the RSDP's address there; older ones treat the bytes as padding and
// find the RSDP by the legacy scan of 0xE0000-0xFFFFF.
inline constexpr std::uint16_t kAcpiRsdpAddrProtocol = 0x020e;

// The command-line limit (excluding NUL) of `kernel`: its cmdline_size, or x86's default.
std::uint64_t linux_cmdline_limit(const KernelImage& kernel);
// The last byte an initrd may occupy for `kernel`: its initrd_addr_max, or the default.
std::uint64_t linux_initrd_addr_max(const KernelImage& kernel);

// Builds boot_params for `kernel` (BzImage or LinuxElf): the setup header copied from the file
// (a bzImage) or a minimal one ("HdrS", boot_flag; an ELF vmlinux), type_of_loader = 0xff
// (undefined loader), LOADED_HIGH, cmd_line_ptr = layout::kCmdlineAddress, the initrd, and the
// e820 table, and acpi_rsdp_addr = `rsdp_address` when the header's protocol is at least
// kAcpiRsdpAddrProtocol. Throws UserError for a map with more than E820_MAX_ENTRIES_ZEROPAGE
// entries.
boot_params build_zero_page(const KernelImage& kernel, std::optional<InitrdPlacement> initrd,
    std::span<const E820Entry> e820, std::uint64_t rsdp_address);

// build_zero_page() and the cmdline, written to guest memory (zero page at
// layout::kZeroPageAddress, cmdline at layout::kCmdlineAddress). Throws UserError when the
// cmdline is longer than the kernel's limit. Returns the zero page's address (the RSI value).
std::uint64_t write_zero_page(const GuestMemory& memory, const KernelImage& kernel, std::string_view cmdline,
    std::optional<InitrdPlacement> initrd, std::span<const E820Entry> e820, std::uint64_t rsdp_address);

} // namespace minivmm::boot
