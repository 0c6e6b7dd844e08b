// Per-vCPU CPUID tables (see cpuid_builder.hpp; Intel SDM vol. 2A, "CPUID—CPU Identification";
// KVM paravirt leaves per Documentation/virt/kvm/x86/cpuid.rst).
#include "vmm/boot/cpuid_builder.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::boot {

namespace {

constexpr std::uint32_t kLeafFeatures = 0x1;
constexpr std::uint32_t kLeafCacheParameters = 0x4;
constexpr std::uint32_t kLeafExtendedFeatures = 0x7;
constexpr std::uint32_t kLeafExtendedTopology = 0xb;
constexpr std::uint32_t kLeafXsave = 0xd;
constexpr std::uint32_t kLeafV2ExtendedTopology = 0x1f;
constexpr std::uint32_t kLeafExtendedSignature = 0x8000'0001;
constexpr std::uint32_t kLeafKvmFeatures = 0x4000'0001;

constexpr std::uint32_t kLeaf1EdxHtt = 1u << 28;
constexpr std::uint32_t kLeaf1EcxHypervisor = 1u << 31;

// Leaf 0BH/1FH ECX[15:8] level types (SDM: "Level Type").
constexpr std::uint32_t kLevelTypeSmt = 1;
constexpr std::uint32_t kLevelTypeCore = 2;

// What the SoftwareKvm template hides. The emulator of a software KVM (kvm_pvm here: no
// VMX/SVM, every CPL0 instruction emulated) fails on some instructions with "KVM internal
// error. Suberror: 1"; MACHINE-NOTES.md lists the ones seen booting Linux 6.1, and the
// cmdline `noxsave clearcpuid=popcnt,cx16,fsgsbase,smap,invpcid,pcid,rdrand,rdseed` that got
// a kernel to init. Hiding the CPUID bits does the same without cmdline flags.
constexpr HiddenFeature kSoftwareKvmHidden[] = {
    {kLeafFeatures, 0, CpuidRegister::Ecx, 13, "CX16", "lock cmpxchg16b: emulation failure seen (Linux 6.1)"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 26, "XSAVE", "xsave/xrstor: emulation failure seen (Linux 6.1)"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 27, "OSXSAVE", "mirrors CR4.OSXSAVE, meaningless without XSAVE"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 28, "AVX", "YMM state needs XSAVE (Linux's cpuid-deps)"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 12, "FMA", "VEX/YMM instruction, depends on AVX"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 29, "F16C", "VEX/YMM instruction, depends on AVX"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 23, "POPCNT", "popcnt: emulation gap seen (clearcpuid=popcnt)"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 17, "PCID", "cleared to reach init (clearcpuid=pcid)"},
    {kLeafFeatures, 0, CpuidRegister::Ecx, 30, "RDRAND", "cleared to reach init (clearcpuid=rdrand)"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 0, "FSGSBASE", "cleared to reach init (clearcpuid=fsgsbase)"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 5, "AVX2", "depends on AVX/XSAVE"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 10, "INVPCID", "cleared to reach init (clearcpuid=invpcid)"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 18, "RDSEED", "cleared to reach init (clearcpuid=rdseed)"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 20, "SMAP", "cleared to reach init (clearcpuid=smap)"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 16, "AVX512F", "ZMM state needs XSAVE"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 17, "AVX512DQ", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 21, "AVX512_IFMA", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 26, "AVX512PF", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 27, "AVX512ER", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 28, "AVX512CD", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 30, "AVX512BW", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ebx, 31, "AVX512VL", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 1, "AVX512_VBMI", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 3, "PKU", "PKRU is XSAVE-managed state"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 4, "OSPKE", "mirrors CR4.PKE, meaningless without PKU"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 6, "AVX512_VBMI2", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 9, "VAES", "VEX/YMM instruction, depends on AVX"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 10, "VPCLMULQDQ", "VEX/YMM instruction, depends on AVX"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 11, "AVX512_VNNI", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 12, "AVX512_BITALG", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Ecx, 14, "AVX512_VPOPCNTDQ", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 2, "AVX512_4VNNIW", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 3, "AVX512_4FMAPS", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 8, "AVX512_VP2INTERSECT", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 22, "AMX_BF16", "tile state needs XSAVE"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 23, "AVX512_FP16", "depends on AVX512F"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 24, "AMX_TILE", "tile state needs XSAVE"},
    {kLeafExtendedFeatures, 0, CpuidRegister::Edx, 25, "AMX_INT8", "tile state needs XSAVE"},
    {kLeafExtendedFeatures, 1, CpuidRegister::Eax, 4, "AVX_VNNI", "depends on AVX"},
    {kLeafExtendedFeatures, 1, CpuidRegister::Eax, 5, "AVX512_BF16", "depends on AVX512F"},
    {kLeafExtendedSignature, 0, CpuidRegister::Ecx, 11, "XOP", "AMD YMM instruction, depends on AVX"},
    {kLeafExtendedSignature, 0, CpuidRegister::Ecx, 16, "FMA4", "AMD YMM instruction, depends on AVX"},
    // KVM paravirt features whose fast paths are hypercalls (vmcall). On this host the one
    // hypercall seen, ptp_kvm's KVM_HC_CLOCK_PAIRING, never returned; a hung PV IPI or kick
    // would hang SMP boot, so these fall back to plain LAPIC IPIs and HLT. kvmclock (MSR-based)
    // and the rest stay.
    {kLeafKvmFeatures, 0, CpuidRegister::Eax, 7, "KVM_FEATURE_PV_UNHALT", "kick via KVM_HC_KICK_CPU hypercall"},
    {kLeafKvmFeatures, 0, CpuidRegister::Eax, 11, "KVM_FEATURE_PV_SEND_IPI", "IPIs via KVM_HC_SEND_IPI hypercall"},
    {kLeafKvmFeatures, 0, CpuidRegister::Eax, 13, "KVM_FEATURE_PV_SCHED_YIELD", "KVM_HC_SCHED_YIELD hypercall"},
};

std::uint32_t& register_of(CpuidEntry& entry, CpuidRegister reg)
{
    switch (reg) {
    case CpuidRegister::Eax: return entry.eax;
    case CpuidRegister::Ebx: return entry.ebx;
    case CpuidRegister::Ecx: return entry.ecx;
    case CpuidRegister::Edx: return entry.edx;
    }
    return entry.eax;
}

// The number of low APIC-id bits a level of `count` units takes: ceil(log2(count)).
std::uint32_t id_bits(unsigned count)
{
    std::uint32_t bits = 0;
    while ((1u << bits) < count)
        ++bits;
    return bits;
}

// Leaf 0BH/1FH subleaves (SDM: "Extended Topology Enumeration Leaf"): level 0 SMT with one
// thread per core, level 1 core with all N vCPUs, then an invalid level ending the list.
std::vector<CpuidEntry> topology_leaf(std::uint32_t function, unsigned vcpu_index, unsigned vcpu_count)
{
    std::vector<CpuidEntry> leaf;
    leaf.push_back({function, 0, kCpuidFlagSignificantIndex, 0, 1, (kLevelTypeSmt << 8) | 0, vcpu_index});
    leaf.push_back({function, 1, kCpuidFlagSignificantIndex, id_bits(vcpu_count), vcpu_count,
        (kLevelTypeCore << 8) | 1, vcpu_index});
    leaf.push_back({function, 2, kCpuidFlagSignificantIndex, 0, 0, 2, vcpu_index});
    return leaf;
}

} // namespace

std::span<const HiddenFeature> hidden_features(CpuTemplate cpu_template)
{
    if (cpu_template == CpuTemplate::SoftwareKvm)
        return kSoftwareKvmHidden;
    return {};
}

bool cpuinfo_has_hardware_virtualization(std::string_view cpuinfo)
{
    std::istringstream lines{std::string(cpuinfo)};
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("flags", 0) != 0)
            continue;
        std::istringstream words(line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
        std::string word;
        while (words >> word) {
            if (word == "vmx" || word == "svm")
                return true;
        }
    }
    return false;
}

bool host_kvm_is_software_emulated()
{
    std::error_code error;
    if (std::filesystem::exists("/sys/module/kvm_pvm", error))
        return true;
    std::ifstream in("/proc/cpuinfo");
    std::stringstream text;
    text << in.rdbuf();
    return !cpuinfo_has_hardware_virtualization(text.str());
}

CpuTemplate parse_cpu_template(std::string_view text, HostKvm host)
{
    if (text == "none")
        return CpuTemplate::None;
    if (text == "software-kvm")
        return CpuTemplate::SoftwareKvm;
    if (text == "auto")
        return host == HostKvm::SoftwareEmulated ? CpuTemplate::SoftwareKvm : CpuTemplate::None;
    throw UserError(fmt::format("CPU template \"{}\" is unknown: use none, software-kvm or auto", text));
}

CpuTemplate parse_cpu_template(std::string_view text)
{
    const HostKvm host = text == "auto" && host_kvm_is_software_emulated() ? HostKvm::SoftwareEmulated : HostKvm::Hardware;
    return parse_cpu_template(text, host);
}

CpuidBuilder::CpuidBuilder(std::span<const CpuidEntry> supported, CpuTemplate cpu_template)
    : m_supported(supported.begin(), supported.end())
    , m_template(cpu_template)
{
}

std::vector<CpuidEntry> CpuidBuilder::for_vcpu(unsigned vcpu_index, unsigned vcpu_count) const
{
    if (vcpu_count == 0 || vcpu_index >= vcpu_count)
        throw std::invalid_argument("CpuidBuilder::for_vcpu: vCPU index out of range");
    std::vector<CpuidEntry> table;
    bool topology_done = false, v2_topology_done = false;
    for (CpuidEntry entry : m_supported) {
        switch (entry.function) {
        case kLeafFeatures:
            // SDM leaf 01H: EBX[31:24] initial APIC id, EBX[23:16] addressable logical
            // processors in the package (8 bits), EDX.HTT when that field is meaningful (> 1).
            entry.ebx = (entry.ebx & 0x0000'ffff) | (vcpu_index << 24) | (std::min(vcpu_count, 255u) << 16);
            entry.edx = vcpu_count > 1 ? (entry.edx | kLeaf1EdxHtt) : (entry.edx & ~kLeaf1EdxHtt);
            // ECX bit 31: "running under a hypervisor", which makes Linux look at 0x40000000.
            entry.ecx |= kLeaf1EcxHypervisor;
            break;
        case kLeafCacheParameters: {
            // SDM leaf 04H: EAX[31:26] cores per package - 1; EAX[25:14] logical processors
            // sharing this cache - 1: per-core caches (L1, L2) serve one thread, L3 all vCPUs.
            const std::uint32_t type = entry.eax & 0x1f;
            if (type == 0)
                break;  // "no more caches": leave the terminator untouched
            const std::uint32_t level = (entry.eax >> 5) & 0x7;
            const std::uint32_t sharing = level >= 3 ? std::min(vcpu_count, 4096u) - 1 : 0;
            entry.eax = (entry.eax & 0x3fff) | (sharing << 14) | ((std::min(vcpu_count, 64u) - 1) << 26);
            break;
        }
        case kLeafExtendedTopology:
        case kLeafV2ExtendedTopology: {
            bool& done = entry.function == kLeafExtendedTopology ? topology_done : v2_topology_done;
            if (!done) {
                const auto leaf = topology_leaf(entry.function, vcpu_index, vcpu_count);
                table.insert(table.end(), leaf.begin(), leaf.end());
                done = true;
            }
            continue;  // the host's own subleaves are replaced
        }
        case kLeafXsave:
            if (m_template == CpuTemplate::SoftwareKvm) {
                // No XSAVE: every XSAVE state component and the XSAVEOPT/XSAVEC/XSAVES bits go.
                entry.eax = entry.ebx = entry.ecx = entry.edx = 0;
            }
            break;
        default:
            // KVM's paravirt leaves 0x40000000.. stay as supplied (the template may clear
            // bits below); everything else passes through.
            break;
        }
        for (const auto& hidden : hidden_features(m_template)) {
            if (hidden.function == entry.function && hidden.index == entry.index)
                register_of(entry, hidden.reg) &= ~(1u << hidden.bit);
        }
        table.push_back(entry);
    }
    return table;
}

} // namespace minivmm::boot
