// Kvm: the /dev/kvm system fd: API-version and capability checks, host-wide queries
// (supported CPUID, vCPU limits, run-area size) and VM creation. Owns its fd (RAII).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/base/unique_fd.hpp"
#include "vmm/kvm/vm_fd.hpp"

namespace minivmm::kvm {

class Kvm {
public:
    // Opens `path` and checks KVM_GET_API_VERSION == 12 and every capability minivmm needs.
    // Throws UserError with what to fix when /dev/kvm is missing, inaccessible or lacking.
    static Kvm open(const std::string& path = "/dev/kvm");

    [[nodiscard]] int fd() const { return m_fd.get(); }
    // KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific value.
    [[nodiscard]] int check_extension(long capability) const;
    // The most vCPUs one VM may have (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS).
    [[nodiscard]] unsigned max_vcpus() const;
    [[nodiscard]] std::size_t vcpu_mmap_size() const;
    // KVM_GET_SUPPORTED_CPUID: every leaf KVM can present to a guest on this host.
    [[nodiscard]] std::vector<kvm_cpuid_entry2> supported_cpuid() const;

    // KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a vCPU (Documentation/virt/kvm/api.rst 4.3).
    [[nodiscard]] std::vector<std::uint32_t> msr_index_list() const;
    // The bytes KVM_GET_XSAVE2 fills (KVM_CAP_XSAVE2, at least sizeof(kvm_xsave)); 0 without KVM_CAP_XSAVE.
    [[nodiscard]] std::size_t xsave_size() const;

    [[nodiscard]] VmFd create_vm() const;

private:
    explicit Kvm(UniqueFd fd) : m_fd(std::move(fd)) {}
    UniqueFd m_fd;
};

} // namespace minivmm::kvm
