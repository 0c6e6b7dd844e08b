// bzImage setup header parsing (see bz_image_header.hpp; Linux boot.rst, "The Real-Mode Kernel
// Header", "Details of Header Fields").
#include "vmm/boot/bz_image_header.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::boot {

namespace {

// boot.rst, "The Real-Mode Kernel Header": the setup header starts at 0x1f1 of the file, its
// "HdrS" magic sits at 0x202 and the jump at 0x200 encodes the header's length in its byte 0x201.
constexpr std::uint64_t kSetupHeaderOffset = 0x1f1;
constexpr std::uint64_t kMagicOffset = 0x202;
constexpr std::uint64_t kJumpLengthOffset = 0x201;
constexpr std::uint32_t kHdrSMagic = 0x53726448;  // "HdrS" read little-endian
constexpr std::uint64_t kSectorSize = 512;

std::string protocol_text(std::uint16_t protocol)
{
    return fmt::format("{}.{:02}", protocol >> 8, protocol & 0xff);
}

} // namespace

bool has_setup_header_magic(std::span<const std::uint8_t> file)
{
    if (file.size() < kMagicOffset + 4)
        return false;
    std::uint32_t magic;
    std::memcpy(&magic, file.data() + kMagicOffset, sizeof magic);
    return magic == kHdrSMagic;
}

BzImageHeader parse_bz_image_header(std::span<const std::uint8_t> file, const std::string& name)
{
    if (!has_setup_header_magic(file))
        throw UserError(fmt::format("kernel {}: no \"HdrS\" magic at byte 0x202: not a Linux bzImage", name));

    // The header's own length, so a short old header is not read past its end; never more than
    // the struct we fill.
    const std::uint64_t declared_end = kJumpLengthOffset + 1 + file[kJumpLengthOffset];
    const std::uint64_t struct_end = kSetupHeaderOffset + sizeof(setup_header);
    const std::uint64_t header_end = std::min(declared_end, struct_end);
    if (header_end > file.size())
        throw UserError(fmt::format("kernel {}: the setup header ends at byte {:#x}, past the file's end ({} bytes): "
                                    "the file is truncated", name, header_end, file.size()));

    BzImageHeader result{};
    std::memset(&result.header, 0, sizeof result.header);
    result.header_length = static_cast<std::uint32_t>(header_end - kSetupHeaderOffset);
    std::memcpy(&result.header, file.data() + kSetupHeaderOffset, result.header_length);
    const setup_header& header = result.header;

    // version lives at 0x206, inside every header that has "HdrS".
    result.protocol = header.version;
    if (result.protocol < kMinimumBootProtocol)
        throw UserError(fmt::format("kernel {}: boot protocol {} is older than {}, the oldest minivmm loads "
                                    "(it lacks cmdline_size): use a newer kernel", name,
                                    protocol_text(result.protocol), protocol_text(kMinimumBootProtocol)));
    if (result.protocol < kXloadflagsProtocol)
        throw UserError(fmt::format("kernel {}: boot protocol {} predates xloadflags ({}), so the kernel has no "
                                    "64-bit entry point: use a 64-bit kernel built after Linux 3.8", name,
                                    protocol_text(result.protocol), protocol_text(kXloadflagsProtocol)));
    if (result.header_length < offsetof(setup_header, init_size) + sizeof(header.init_size))
        throw UserError(fmt::format("kernel {}: its setup header is {} bytes, too short for protocol {} "
                                    "(init_size is missing): the header is corrupt", name,
                                    result.header_length, protocol_text(result.protocol)));
    if (!(header.xloadflags & XLF_KERNEL_64))
        throw UserError(fmt::format("kernel {}: xloadflags {:#x} lacks XLF_KERNEL_64: the kernel has no 64-bit "
                                    "entry point (a 32-bit kernel?): use an x86-64 kernel", name, header.xloadflags));

    // boot.rst, "setup_sects": "If this field is 0, the real value is 4."
    result.setup_sects = header.setup_sects == 0 ? 4 : header.setup_sects;
    result.protected_mode_offset = (std::uint64_t(result.setup_sects) + 1) * kSectorSize;
    if (result.protected_mode_offset >= file.size())
        throw UserError(fmt::format("kernel {}: setup_sects = {} puts the protected-mode kernel at byte {:#x}, at or "
                                    "past the file's end ({} bytes): the file is truncated", name,
                                    result.setup_sects, result.protected_mode_offset, file.size()));
    return result;
}

} // namespace minivmm::boot
