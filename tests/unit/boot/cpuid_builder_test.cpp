// Tests for per-vCPU CPUID tables and the CPU templates, from a synthetic supported-CPUID list.
#include <catch2/catch.hpp>

#include <optional>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/cpuid_builder.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using Catch::Matchers::Contains;

namespace {

// A host-like list: leaf 1 with CX16/POPCNT/XSAVE/AVX/RDRAND/HTT, leaf 4 (L1d, L2, L3, end),
// leaf 7 with FSGSBASE/AVX2/SMAP, leaf 0xB from the host, leaf 0xD, the KVM leaves.
std::vector<CpuidEntry> supported()
{
    return {
        {0x0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69},
        {0x1, 0, 0, 0x000906ea, 0x00100800, (1u << 13) | (1u << 23) | (1u << 26) | (1u << 28) | (1u << 30) | 1u,
            (1u << 28) | 1u},
        {0x4, 0, 1, 0x1c004121, 0x01c0003f, 0x3f, 0},
        {0x4, 1, 1, 0x1c004143, 0x00c0003f, 0x3ff, 0},
        {0x4, 2, 1, 0x1c03c163, 0x02c0003f, 0x3fff, 6},
        {0x4, 3, 1, 0, 0, 0, 0},
        {0x7, 0, 1, 0, (1u << 0) | (1u << 5) | (1u << 20) | (1u << 3), 0, 0},
        {0xb, 0, 1, 1, 2, 0x100, 7},
        {0xb, 1, 1, 4, 12, 0x201, 7},
        {0xd, 0, 1, 0x7, 0x340, 0x340, 0},
        {0xd, 1, 1, 0xf, 0, 0, 0},
        {0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d},
        {0x40000001, 0, 0, (1u << 3) | (1u << 7) | (1u << 11) | (1u << 13) | (1u << 24), 0, 0, 0},
        {0x80000001, 0, 0, 0, 0, (1u << 0) | (1u << 16), 0},
    };
}

std::optional<CpuidEntry> find(const std::vector<CpuidEntry>& table, std::uint32_t function, std::uint32_t index = 0)
{
    for (const auto& entry : table)
        if (entry.function == function && entry.index == index)
            return entry;
    return std::nullopt;
}

} // namespace

TEST_CASE("SDM leaf 01H: EBX[31:24] is the vCPU's APIC id, EBX[23:16] the vCPU count, HTT when > 1")
{
    const CpuidBuilder builder(supported(), CpuTemplate::None);
    const auto one = *find(builder.for_vcpu(0, 1), 1);
    CHECK((one.ebx >> 24) == 0);
    CHECK(((one.ebx >> 16) & 0xff) == 1);
    CHECK((one.edx & (1u << 28)) == 0);
    CHECK((one.ebx & 0xffff) == 0x0800);  // CLFLUSH line size kept
    const auto third = *find(builder.for_vcpu(2, 4), 1);
    CHECK((third.ebx >> 24) == 2);
    CHECK(((third.ebx >> 16) & 0xff) == 4);
    CHECK((third.edx & (1u << 28)) != 0);
    CHECK((third.ecx & (1u << 31)) != 0);  // hypervisor
}

TEST_CASE("SDM leaf 0BH: SMT level of 1 thread (shift 0), core level of N vCPUs, EDX = x2APIC id")
{
    const CpuidBuilder builder(supported(), CpuTemplate::None);
    const auto table = builder.for_vcpu(3, 6);
    const auto smt = *find(table, 0xb, 0);
    CHECK(smt.eax == 0);
    CHECK(smt.ebx == 1);
    CHECK(smt.ecx == 0x100);
    CHECK(smt.edx == 3);
    const auto core = *find(table, 0xb, 1);
    CHECK(core.eax == 3);  // 6 vCPUs need 3 id bits
    CHECK(core.ebx == 6);
    CHECK(core.ecx == 0x201);
    CHECK(core.edx == 3);
    const auto end = *find(table, 0xb, 2);
    CHECK(((end.ecx >> 8) & 0xff) == 0);
    CHECK(std::count_if(table.begin(), table.end(), [](const CpuidEntry& e) { return e.function == 0xb; }) == 3);
    CHECK(!find(table, 0x1f));  // not invented when the host has no leaf 1FH
}

TEST_CASE("SDM leaf 04H: cores per package = N, L1/L2 per core, L3 shared by all vCPUs")
{
    const CpuidBuilder builder(supported(), CpuTemplate::None);
    const auto table = builder.for_vcpu(0, 4);
    for (std::uint32_t i = 0; i < 3; ++i) {
        const auto cache = *find(table, 4, i);
        CHECK((cache.eax >> 26) == 3);
        const std::uint32_t level = (cache.eax >> 5) & 7;
        CHECK(((cache.eax >> 14) & 0xfff) == (level == 3 ? 3u : 0u));
        CHECK((cache.eax & 0x3fff) == (find(supported(), 4, i)->eax & 0x3fff));
    }
    CHECK(find(table, 4, 3)->eax == 0);
}

TEST_CASE("CPU template none keeps the host's features and KVM's paravirt leaves as supplied")
{
    const auto table = CpuidBuilder(supported(), CpuTemplate::None).for_vcpu(0, 1);
    CHECK((find(table, 1)->ecx & (1u << 13)) != 0);
    CHECK(*find(table, 0x40000000) == *find(supported(), 0x40000000));
    CHECK(*find(table, 0x40000001) == *find(supported(), 0x40000001));
    CHECK(*find(table, 0xd, 0) == *find(supported(), 0xd, 0));
}

TEST_CASE("CPU template software-kvm hides CX16, XSAVE and its dependants, POPCNT, FSGSBASE, SMAP, leaf 0xD")
{
    const auto table = CpuidBuilder(supported(), CpuTemplate::SoftwareKvm).for_vcpu(0, 2);
    const auto leaf1 = *find(table, 1);
    for (unsigned bit : {13u, 23u, 26u, 27u, 28u, 30u})
        CHECK((leaf1.ecx & (1u << bit)) == 0);
    CHECK((leaf1.ecx & 1u) == 1u);  // SSE3 stays
    const auto leaf7 = *find(table, 7);
    CHECK(leaf7.ebx == (1u << 3));  // BMI1 stays; FSGSBASE, AVX2, SMAP gone
    CHECK(find(table, 0xd, 0)->eax == 0);
    CHECK(find(table, 0xd, 1)->eax == 0);
    CHECK(find(table, 0x80000001)->ecx == 1u);  // FMA4 gone, LAHF stays
    // kvmclock (CLOCKSOURCE2, STABLE) stays; hypercall-based PV features go.
    CHECK(find(table, 0x40000001)->eax == ((1u << 3) | (1u << 24)));
}

TEST_CASE("Every hidden feature names itself and why")
{
    CHECK(hidden_features(CpuTemplate::None).empty());
    for (const auto& hidden : hidden_features(CpuTemplate::SoftwareKvm)) {
        CHECK(std::string(hidden.name).size() > 0);
        CHECK(std::string(hidden.reason).size() > 0);
        CHECK(hidden.bit < 32);
    }
}

TEST_CASE("CPU template names: none, software-kvm, auto follows the host; others are refused")
{
    CHECK(parse_cpu_template("none", HostKvm::SoftwareEmulated) == CpuTemplate::None);
    CHECK(parse_cpu_template("software-kvm", HostKvm::Hardware) == CpuTemplate::SoftwareKvm);
    CHECK(parse_cpu_template("auto", HostKvm::SoftwareEmulated) == CpuTemplate::SoftwareKvm);
    CHECK(parse_cpu_template("auto", HostKvm::Hardware) == CpuTemplate::None);
    CHECK_THROWS_WITH(parse_cpu_template("T2", HostKvm::Hardware), Contains("CPU template \"T2\" is unknown"));
}

TEST_CASE("cpuinfo: only a vmx or svm word in a flags line means hardware virtualization")
{
    CHECK(cpuinfo_has_hardware_virtualization("processor\t: 0\nflags\t\t: fpu vme de pse vmx sse\n"));
    CHECK(cpuinfo_has_hardware_virtualization("flags\t\t: fpu svm\n"));
    CHECK_FALSE(cpuinfo_has_hardware_virtualization("flags\t\t: fpu vme hypervisor vmxfoo\n"));
    CHECK_FALSE(cpuinfo_has_hardware_virtualization("model name\t: vmx svm\nflags\t\t: fpu\n"));
}

TEST_CASE("for_vcpu refuses an index outside the vCPU count")
{
    CHECK_THROWS_AS(CpuidBuilder(supported(), CpuTemplate::None).for_vcpu(2, 2), std::invalid_argument);
}
