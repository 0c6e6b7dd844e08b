// CpuidBuilder: each vCPU's CPUID table from the host's KVM_GET_SUPPORTED_CPUID list, with the
// topology of an N-vCPU guest (Intel SDM vol. 2A, CPUID leaves 01H, 04H, 0BH, 1FH) and optional
// CPU templates that hide features the host cannot run. Neutral of <linux/kvm.h>: the VM layer
// converts CpuidEntry to and from kvm_cpuid_entry2.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace minivmm::boot {

struct CpuidEntry {
    std::uint32_t function;
    std::uint32_t index;
    std::uint32_t flags;  // kCpuidFlagSignificantIndex when `index` selects a subleaf
    std::uint32_t eax, ebx, ecx, edx;
    bool operator==(const CpuidEntry&) const = default;
};

// Same value as KVM_CPUID_FLAG_SIGNIFCANT_INDEX in <linux/kvm.h>.
inline constexpr std::uint32_t kCpuidFlagSignificantIndex = 1;

enum class CpuTemplate {
    None,         // everything KVM supports
    SoftwareKvm,  // hide what a software-emulated KVM (kvm_pvm, no VMX/SVM) cannot execute
};

enum class HostKvm { Hardware, SoftwareEmulated };

// "none", "software-kvm", or "auto" (SoftwareKvm when `host` is SoftwareEmulated). Throws
// UserError for anything else.
CpuTemplate parse_cpu_template(std::string_view text, HostKvm host);
// As above, detecting the host with host_kvm_is_software_emulated() only for "auto".
CpuTemplate parse_cpu_template(std::string_view text);

// True when /sys/module/kvm_pvm exists or /proc/cpuinfo has neither the vmx nor the svm flag.
bool host_kvm_is_software_emulated();
// True when some "flags" line of `cpuinfo` (the text of /proc/cpuinfo) lists vmx or svm.
bool cpuinfo_has_hardware_virtualization(std::string_view cpuinfo);

enum class CpuidRegister { Eax, Ebx, Ecx, Edx };

// One feature bit a template clears, with why (exposed for documentation and tests).
struct HiddenFeature {
    std::uint32_t function;
    std::uint32_t index;
    CpuidRegister reg;
    unsigned bit;
    const char* name;
    const char* reason;
};
std::span<const HiddenFeature> hidden_features(CpuTemplate cpu_template);

class CpuidBuilder {
public:
    CpuidBuilder(std::span<const CpuidEntry> supported, CpuTemplate cpu_template);

    // vCPU `vcpu_index`'s table in a guest of `vcpu_count` vCPUs, one package of `vcpu_count`
    // cores with one thread each; APIC id = vcpu_index (as the MP table says).
    [[nodiscard]] std::vector<CpuidEntry> for_vcpu(unsigned vcpu_index, unsigned vcpu_count) const;

private:
    std::vector<CpuidEntry> m_supported;
    CpuTemplate m_template;
};

} // namespace minivmm::boot
