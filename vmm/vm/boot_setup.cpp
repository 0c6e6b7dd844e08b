#include "vmm/vm/boot_setup.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/e820_entry.hpp"
#include "vmm/boot/file_bytes.hpp"
#include "vmm/boot/initrd.hpp"
#include "vmm/boot/kernel_image.hpp"
#include "vmm/boot/mp_table.hpp"
#include "vmm/boot/pvh_start_info.hpp"
#include "vmm/vm/kvm_cpu_state.hpp"

namespace minivmm::vm {

namespace {
std::vector<layout::RamRange> ram_ranges_of(const GuestMemory& memory)
{
    std::vector<layout::RamRange> ranges;
    for (const auto& region : memory.regions())
        ranges.push_back({region.guest_address, region.size()});
    return ranges;
}

const kvm_cpuid_entry2* find_leaf(const std::vector<kvm_cpuid_entry2>& entries, std::uint32_t function, std::uint32_t index = 0)
{
    for (const auto& entry : entries)
        if (entry.function == function && entry.index == index)
            return &entry;
    return nullptr;
}
} // namespace

BootPlan prepare_boot(const VmConfig& config, const GuestMemory& memory, std::vector<kvm_cpuid_entry2> supported_cpuid)
{
    BootPlan plan;
    plan.supported_cpuid = std::move(supported_cpuid);
    const auto ranges = ram_ranges_of(memory);

    const auto kernel_file = boot::read_whole_file(config.kernel_path, "kernel");
    const boot::KernelImage kernel = boot::load_kernel(memory, kernel_file, config.kernel_path);

    std::optional<boot::InitrdPlacement> initrd;
    if (config.initrd_path) {
        const auto initrd_file = boot::read_whole_file(*config.initrd_path, "initrd");
        initrd = boot::load_initrd(memory, initrd_file, *config.initrd_path, ranges, kernel.highest,
            boot::kNoInitrdAddressLimit);
    }

    // MP spec 1.4 §4: the processor entries tell the guest how many vCPUs to start via INIT/SIPI.
    boot::MpTableOptions mp;
    mp.vcpu_count = config.cpus;
    if (const auto* leaf1 = find_leaf(plan.supported_cpuid, 1)) {
        mp.cpu_signature = leaf1->eax;
        mp.feature_flags = leaf1->edx;
    }
    boot::write_mp_table(memory, mp);

    const auto memmap = boot::e820_map(ranges);
    switch (kernel.kind) {
    case boot::KernelKind::PvhElf: {
        const std::uint64_t start_info = boot::write_pvh_start_info(memory, config.cmdline, initrd, memmap);
        plan.entry = boot::pvh_entry_state(memory, static_cast<std::uint32_t>(kernel.entry), start_info);
        break;
    }
    case boot::KernelKind::LinuxElf:
    case boot::KernelKind::BzImage:
        throw UserError(fmt::format("kernel {}: {} boot is not supported yet", config.kernel_path, boot::to_string(kernel.kind)));
    }
    return plan;
}

void configure_vcpu(kvm::VcpuFd& vcpu, const BootPlan& plan, unsigned cpu_count)
{
    // CPUID: the host's supported leaves with this vCPU's APIC id and the topology the MP table
    // describes (Intel SDM vol. 2A, CPUID leaf 01H EBX[31:24] "Initial APIC ID", leaf 0BH).
    std::vector<kvm_cpuid_entry2> cpuid = plan.supported_cpuid;
    for (auto& entry : cpuid) {
        if (entry.function == 1) {
            entry.ebx = (entry.ebx & 0x0000ffff) | (vcpu.index() << 24) | ((cpu_count & 0xff) << 16);
            if (cpu_count > 1)
                entry.edx |= 1u << 28; // HTT: the logical-processor count field is valid
            entry.ecx |= 1u << 31;     // running under a hypervisor
        } else if (entry.function == 0xb) {
            entry.edx = vcpu.index();
        }
    }
    vcpu.set_cpuid(cpuid);

    if (vcpu.index() != 0)
        return; // APs wait for INIT/SIPI in the in-kernel LAPIC
    vcpu.set_sregs(apply_entry_sregs(vcpu.get_sregs(), plan.entry));
    vcpu.set_regs(entry_regs(plan.entry));

    // The MP table routes LINT0 as ExtINT (the PIC) and LINT1 as NMI; program the boot LAPIC's
    // LVT to match (Intel SDM vol. 3A §10.5.1 "Local Vector Table": delivery mode bits 10:8).
    kvm_lapic_state lapic = vcpu.get_lapic();
    auto set_lvt = [&](std::size_t offset, std::uint32_t delivery_mode) {
        std::uint32_t value;
        std::memcpy(&value, lapic.regs + offset, sizeof value);
        value = (value & ~0x700u) | (delivery_mode << 8);
        value &= ~(1u << 16); // unmasked
        std::memcpy(lapic.regs + offset, &value, sizeof value);
    };
    set_lvt(0x350, 0b111); // LINT0: ExtINT
    set_lvt(0x360, 0b100); // LINT1: NMI
    vcpu.set_lapic(lapic);
}

} // namespace minivmm::vm
