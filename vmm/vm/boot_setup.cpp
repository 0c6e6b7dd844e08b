#include "vmm/vm/boot_setup.hpp"

#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/file_bytes.hpp"
#include "vmm/boot/guest_boot.hpp"
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

boot::CpuidEntry from_kvm(const kvm_cpuid_entry2& entry)
{
    return {entry.function, entry.index, entry.flags, entry.eax, entry.ebx, entry.ecx, entry.edx};
}

// The software-kvm template, second half. On kvm_pvm the guest's CPUID shows the hardware's
// bits, masked only where KVM_GET_SUPPORTED_CPUID lists a bit: clearing CX16 in our table hides
// it, but XSAVE (not in that list) still reaches the guest, and Linux then runs xsave/xrstor,
// which the host cannot emulate. Linux's own clearcpuid= (kernel-parameters.txt; names since
// 5.19, with cpuid-deps clearing AVX & co. along with XSAVE) hides them where CPUID cannot.
// The list is the template's (boot/cpuid_builder.cpp, hidden_features) in /proc/cpuinfo names.
constexpr std::string_view kSoftwareKvmLinuxParameters =
    "clearcpuid=xsave,cx16,popcnt,fsgsbase,smap,invpcid,pcid,rdrand,rdseed";

// A Linux kernel image: a bzImage, or an ELF holding the kernel's version banner.
bool looks_like_linux(std::span<const std::uint8_t> kernel)
{
    constexpr std::string_view kBzImageMagic = "HdrS"; // boot.rst: at offset 0x202
    if (kernel.size() > 0x206 && std::string_view(reinterpret_cast<const char*>(kernel.data()) + 0x202, 4) == kBzImageMagic)
        return true;
    constexpr std::string_view kBanner = "Linux version ";
    const std::string_view bytes(reinterpret_cast<const char*>(kernel.data()), kernel.size());
    return bytes.find(kBanner) != std::string_view::npos;
}

kvm_cpuid_entry2 to_kvm(const boot::CpuidEntry& entry)
{
    kvm_cpuid_entry2 out {};
    out.function = entry.function;
    out.index = entry.index;
    out.flags = entry.flags;
    out.eax = entry.eax;
    out.ebx = entry.ebx;
    out.ecx = entry.ecx;
    out.edx = entry.edx;
    return out;
}
} // namespace

BootPlan prepare_boot(const VmConfig& config, const GuestMemory& memory, std::vector<kvm_cpuid_entry2> supported_cpuid)
{
    BootPlan plan;
    plan.cpu_template = boot::parse_cpu_template(config.cpu_template);
    for (const auto& entry : supported_cpuid)
        plan.supported_cpuid.push_back(from_kvm(entry));

    const auto ranges = ram_ranges_of(memory);
    const auto kernel = boot::read_whole_file(config.kernel_path, "kernel");
    std::vector<std::uint8_t> initrd;
    if (config.initrd_path)
        initrd = boot::read_whole_file(*config.initrd_path, "initrd");
    boot::BootFiles files;
    files.kernel = kernel;
    files.kernel_name = config.kernel_path;
    if (config.initrd_path) {
        files.initrd = std::span<const std::uint8_t>(initrd);
        files.initrd_name = *config.initrd_path;
    }
    files.cmdline = config.cmdline;
    files.vcpu_count = config.cpus;
    if (plan.cpu_template == boot::CpuTemplate::SoftwareKvm && looks_like_linux(kernel))
        files.cmdline += (files.cmdline.empty() ? "" : " ") + std::string(kSoftwareKvmLinuxParameters);
    const boot::GuestBoot guest = boot::prepare_guest_boot(memory, ranges, files);
    plan.entry = guest.entry_state;
    plan.kernel_kind = guest.kernel.kind;
    return plan;
}

BootPlan cpuid_plan(const VmConfig& config, std::vector<kvm_cpuid_entry2> supported_cpuid)
{
    BootPlan plan;
    plan.cpu_template = boot::parse_cpu_template(config.cpu_template);
    for (const auto& entry : supported_cpuid)
        plan.supported_cpuid.push_back(from_kvm(entry));
    return plan;
}

std::vector<kvm_cpuid_entry2> vcpu_cpuid(const BootPlan& plan, unsigned index, unsigned cpu_count)
{
    // CPUID with this vCPU's APIC id and the topology the MP table describes, minus what the
    // CPU template hides (boot/cpuid_builder.hpp).
    const boot::CpuidBuilder builder(plan.supported_cpuid, plan.cpu_template);
    std::vector<kvm_cpuid_entry2> cpuid;
    for (const auto& entry : builder.for_vcpu(index, cpu_count))
        cpuid.push_back(to_kvm(entry));
    return cpuid;
}

void configure_vcpu(kvm::VcpuFd& vcpu, const BootPlan& plan, unsigned cpu_count)
{
    vcpu.set_cpuid(vcpu_cpuid(plan, vcpu.index(), cpu_count));

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
