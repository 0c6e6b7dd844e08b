// BzImageHeader: the validated setup header of a Linux bzImage (Documentation/arch/x86/boot.rst,
// "The Real-Mode Kernel Header", "Details of Header Fields" and "64-bit Boot Protocol").
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <span>
#include <string>

namespace minivmm::boot {

struct BzImageHeader {
    // The header bytes the file holds, from 0x1f1 up to 0x202 + the byte at 0x201 (boot.rst:
    // "the end of the setup header can be calculated as 0x202 + byte value at offset 0x201"),
    // clipped to what struct setup_header knows; the rest is zero.
    setup_header header;
    std::uint32_t header_length;        // bytes of `header` taken from the file
    std::uint32_t setup_sects;          // 0 in the file means 4 (boot.rst, "setup_sects")
    std::uint64_t protected_mode_offset;  // (setup_sects + 1) * 512
    std::uint16_t protocol;             // e.g. 0x020f
};

// The minimum protocol minivmm loads: 2.06 is the first with cmdline_size.
inline constexpr std::uint16_t kMinimumBootProtocol = 0x0206;
// xloadflags (and with it XLF_KERNEL_64) appeared in protocol 2.12.
inline constexpr std::uint16_t kXloadflagsProtocol = 0x020c;
// boot.rst, "64-bit Boot Protocol": the 64-bit entry is 0x200 past the protected-mode start.
inline constexpr std::uint64_t kBzImage64BitEntryOffset = 0x200;

// True when `file` has the "HdrS" magic at 0x202.
bool has_setup_header_magic(std::span<const std::uint8_t> file);

// Parses and checks the header: "HdrS", protocol >= 2.06, XLF_KERNEL_64, a protected-mode part
// inside the file. Throws UserError prefixed with `name`.
BzImageHeader parse_bz_image_header(std::span<const std::uint8_t> file, const std::string& name);

} // namespace minivmm::boot
