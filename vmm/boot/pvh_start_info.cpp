// PVH start info (see pvh_start_info.hpp; Xen public/arch-x86/hvm/start_info.h).
#include "vmm/boot/pvh_start_info.hpp"

#include <stdexcept>
#include <vector>

#include "vmm/boot/cmdline.hpp"

namespace minivmm::boot {

std::uint64_t write_pvh_start_info(const GuestMemory& memory, std::string_view cmdline,
    std::optional<InitrdPlacement> initrd, std::span<const E820Entry> memmap, std::uint64_t rsdp_address)
{
    write_cmdline(memory, cmdline, layout::kCmdlineMaxSize - 1, "minivmm's command-line area");

    const std::uint64_t start = layout::kPvhStartInfoAddress;
    const std::uint64_t modlist = start + sizeof(HvmStartInfo);
    const std::uint64_t module_count = initrd ? 1 : 0;
    const std::uint64_t memmap_address = modlist + module_count * sizeof(HvmModlistEntry);
    const std::uint64_t end = memmap_address + memmap.size() * sizeof(HvmMemmapTableEntry);
    if (end > start + kPvhStartInfoAreaSize)
        throw std::logic_error("boot: the PVH start info and memory map do not fit below the zero page");

    HvmStartInfo info{};
    info.magic = kHvmStartMagicValue;
    info.version = 1;
    info.nr_modules = static_cast<std::uint32_t>(module_count);
    info.modlist_paddr = module_count ? modlist : 0;
    info.cmdline_paddr = layout::kCmdlineAddress;
    info.rsdp_paddr = rsdp_address;
    info.memmap_paddr = memmap_address;
    info.memmap_entries = static_cast<std::uint32_t>(memmap.size());

    bool ok = memory.write_obj(start, info);
    if (initrd) {
        HvmModlistEntry module{};
        module.paddr = initrd->address;
        module.size = initrd->size;
        ok = ok && memory.write_obj(modlist, module);
    }
    for (std::size_t i = 0; i < memmap.size(); ++i) {
        HvmMemmapTableEntry entry{};
        entry.addr = memmap[i].address;
        entry.size = memmap[i].size;
        entry.type = static_cast<std::uint32_t>(memmap[i].type);
        ok = ok && memory.write_obj(memmap_address + i * sizeof entry, entry);
    }
    if (!ok)
        throw std::logic_error("boot: the PVH start info area is not guest RAM");
    return start;
}

} // namespace minivmm::boot
