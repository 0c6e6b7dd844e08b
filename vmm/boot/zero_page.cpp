// The Linux zero page (see zero_page.hpp; boot.rst "64-bit Boot Protocol", zero-page.rst).
#include "vmm/boot/zero_page.hpp"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/cmdline.hpp"

namespace minivmm::boot {

namespace {

// boot.rst, "type_of_loader": 0xff is "undefined", for loaders without an assigned id.
constexpr std::uint8_t kUndefinedLoader = 0xff;
// boot.rst, "boot_flag" (0xAA55) and "header" ("HdrS").
constexpr std::uint16_t kBootFlag = 0xaa55;
constexpr std::uint32_t kHdrSMagic = 0x53726448;
// The protocol version we describe in a header we write ourselves (ELF vmlinux): 2.10, the
// version whose fields (cmd_line_ptr, ramdisk_*, ...) we fill.
constexpr std::uint16_t kSyntheticHeaderVersion = 0x020a;

} // namespace

std::uint64_t linux_cmdline_limit(const KernelImage& kernel)
{
    return kernel.bz_header ? kernel.bz_header->header.cmdline_size : kLinuxElfCmdlineSize;
}

std::uint64_t linux_initrd_addr_max(const KernelImage& kernel)
{
    if (kernel.bz_header && kernel.bz_header->header.initrd_addr_max != 0)
        return kernel.bz_header->header.initrd_addr_max;
    return kDefaultInitrdAddrMax;
}

boot_params build_zero_page(const KernelImage& kernel, std::optional<InitrdPlacement> initrd,
    std::span<const E820Entry> e820, std::uint64_t rsdp_address)
{
    // boot.rst, "64-bit Boot Protocol": "the boot loader ... should fill the setup header ...
    // into a clean boot_params": start from zero, so `sentinel` and every field the kernel might
    // trust is 0 unless we set it.
    boot_params params;
    std::memset(&params, 0, sizeof params);
    setup_header& hdr = params.hdr;
    if (kernel.bz_header) {
        std::memcpy(&hdr, &kernel.bz_header->header, kernel.bz_header->header_length);
    } else {
        hdr.boot_flag = kBootFlag;
        hdr.header = kHdrSMagic;
        hdr.version = kSyntheticHeaderVersion;
        hdr.cmdline_size = kLinuxElfCmdlineSize;
        hdr.initrd_addr_max = kDefaultInitrdAddrMax;
    }
    hdr.type_of_loader = kUndefinedLoader;
    // LOADED_HIGH: the protected-mode kernel is at 1 MiB. No KEEP_SEGMENTS (the 64-bit entry
    // ignores it) and no CAN_USE_HEAP (that is for the real-mode setup code we skip).
    hdr.loadflags = static_cast<std::uint8_t>((hdr.loadflags | LOADED_HIGH) & ~(KEEP_SEGMENTS | CAN_USE_HEAP));
    hdr.cmd_line_ptr = static_cast<std::uint32_t>(layout::kCmdlineAddress);
    params.ext_cmd_line_ptr = static_cast<std::uint32_t>(layout::kCmdlineAddress >> 32);
    if (initrd) {
        hdr.ramdisk_image = static_cast<std::uint32_t>(initrd->address);
        hdr.ramdisk_size = static_cast<std::uint32_t>(initrd->size);
        params.ext_ramdisk_image = static_cast<std::uint32_t>(initrd->address >> 32);
        params.ext_ramdisk_size = static_cast<std::uint32_t>(initrd->size >> 32);
    }

    if (hdr.version >= kAcpiRsdpAddrProtocol)
        params.acpi_rsdp_addr = rsdp_address;

    if (e820.size() > E820_MAX_ENTRIES_ZEROPAGE)
        throw UserError(fmt::format("memory map: {} entries, more than the zero page's {}: use fewer memory ranges",
            e820.size(), E820_MAX_ENTRIES_ZEROPAGE));
    for (std::size_t i = 0; i < e820.size(); ++i) {
        params.e820_table[i].addr = e820[i].address;
        params.e820_table[i].size = e820[i].size;
        params.e820_table[i].type = static_cast<std::uint32_t>(e820[i].type);
    }
    params.e820_entries = static_cast<std::uint8_t>(e820.size());
    return params;
}

std::uint64_t write_zero_page(const GuestMemory& memory, const KernelImage& kernel, std::string_view cmdline,
    std::optional<InitrdPlacement> initrd, std::span<const E820Entry> e820, std::uint64_t rsdp_address)
{
    if (kernel.kind == KernelKind::PvhElf)
        throw std::logic_error("write_zero_page: a PVH kernel takes hvm_start_info, not boot_params");
    write_cmdline(memory, cmdline, linux_cmdline_limit(kernel),
        kernel.bz_header ? "the kernel's cmdline_size" : "x86 Linux's COMMAND_LINE_SIZE");
    const boot_params params = build_zero_page(kernel, initrd, e820, rsdp_address);
    static_assert(sizeof(boot_params) == 4096);
    if (!memory.write_obj(layout::kZeroPageAddress, params))
        throw std::logic_error("boot: the zero page is not guest RAM");
    return layout::kZeroPageAddress;
}

} // namespace minivmm::boot
