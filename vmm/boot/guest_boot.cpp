// The boot sequence (see guest_boot.hpp; DESIGN.md "Boot flow" steps 1-2).
#include "vmm/boot/guest_boot.hpp"

#include "vmm/boot/acpi_tables.hpp"
#include "vmm/boot/e820_entry.hpp"
#include "vmm/boot/file_bytes.hpp"
#include "vmm/boot/mp_table.hpp"
#include "vmm/boot/pvh_start_info.hpp"
#include "vmm/boot/zero_page.hpp"

namespace minivmm::boot {

GuestBoot prepare_guest_boot(const GuestMemory& memory, std::span<const layout::RamRange> ranges, const BootFiles& files)
{
    GuestBoot boot{load_kernel(memory, files.kernel, files.kernel_name), std::nullopt, {}};
    const bool pvh = boot.kernel.kind == KernelKind::PvhElf;
    if (files.initrd) {
        // PVH kernels take the initrd's 64-bit address from the module list: only the hole
        // bounds it. Linux's 64-bit entry honours initrd_addr_max.
        const std::uint64_t max_address = pvh ? kNoInitrdAddressLimit : linux_initrd_addr_max(boot.kernel);
        boot.initrd = load_initrd(memory, *files.initrd, files.initrd_name, ranges, boot.kernel.highest, max_address);
    }
    // Both CPU descriptions, always: kernels without ACPI (minivmm's minimal one) read the MP
    // table, ACPI kernels without CONFIG_X86_MPPARSE (Debian's cloud kernel) only the MADT.
    write_mp_table(memory, {.vcpu_count = files.vcpu_count});
    const std::uint64_t rsdp = write_acpi_tables(memory, {.vcpu_count = files.vcpu_count});
    const auto map = e820_map(ranges);
    if (pvh) {
        const std::uint64_t start_info = write_pvh_start_info(memory, files.cmdline, boot.initrd, map, rsdp);
        boot.entry_state = pvh_entry_state(memory, static_cast<std::uint32_t>(boot.kernel.entry), start_info);
    } else {
        const std::uint64_t zero_page = write_zero_page(memory, boot.kernel, files.cmdline, boot.initrd, map, rsdp);
        boot.entry_state = long_mode_entry_state(memory, boot.kernel.entry, zero_page);
    }
    return boot;
}

GuestBoot prepare_guest_boot(const GuestMemory& memory, std::span<const layout::RamRange> ranges,
    const std::filesystem::path& kernel, const std::optional<std::filesystem::path>& initrd, const std::string& cmdline,
    unsigned vcpu_count)
{
    const auto kernel_bytes = read_whole_file(kernel, "kernel");
    std::optional<std::vector<std::uint8_t>> initrd_bytes;
    if (initrd)
        initrd_bytes = read_whole_file(*initrd, "initrd");
    BootFiles files;
    files.kernel = kernel_bytes;
    files.kernel_name = kernel.string();
    if (initrd_bytes) {
        files.initrd = std::span<const std::uint8_t>(*initrd_bytes);
        files.initrd_name = initrd->string();
    }
    files.cmdline = cmdline;
    files.vcpu_count = vcpu_count;
    return prepare_guest_boot(memory, ranges, files);
}

} // namespace minivmm::boot
