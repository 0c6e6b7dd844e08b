#include "vmm/kvm/kvm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/kvm/flex_array_abi.hpp"

namespace minivmm::kvm {

namespace {

struct RequiredCapability {
    long capability;
    const char* name;
};

// What minivmm's design relies on (DESIGN.md, "Boot flow" and "Threads and events").
constexpr RequiredCapability kRequiredCapabilities[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

} // namespace

Kvm Kvm::open(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        const int error = errno;
        if (error == ENOENT)
            throw UserError(fmt::format("{} does not exist: this host has no KVM (load the kvm module, or enable "
                                        "virtualization for this machine)", path));
        if (error == EACCES || error == EPERM)
            throw UserError(fmt::format("{} is not accessible: run as root or add your user to the group that owns it "
                                        "(usually 'kvm')", path));
        throw SysError(fmt::format("open {}", path), error);
    }
    const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        throw UserError(fmt::format("{} speaks KVM API version {}, minivmm needs {}", path, version, KVM_API_VERSION));
    Kvm kvm(std::move(fd));
    for (const auto& required : kRequiredCapabilities) {
        if (kvm.check_extension(required.capability) <= 0)
            throw UserError(fmt::format("{} lacks {}, which minivmm needs", path, required.name));
    }
    return kvm;
}

int Kvm::check_extension(long capability) const
{
    const int result = ::ioctl(m_fd.get(), KVM_CHECK_EXTENSION, capability);
    return result < 0 ? 0 : result;
}

unsigned Kvm::max_vcpus() const
{
    // Documentation/virt/kvm/api.rst, KVM_CAP_MAX_VCPUS: "if not supported, use KVM_CAP_NR_VCPUS".
    if (const int max = check_extension(KVM_CAP_MAX_VCPUS); max > 0)
        return static_cast<unsigned>(max);
    if (const int nr = check_extension(KVM_CAP_NR_VCPUS); nr > 0)
        return static_cast<unsigned>(nr);
    return 4; // the API documentation's floor when neither is reported
}

std::size_t Kvm::vcpu_mmap_size() const
{
    const int size = ::ioctl(m_fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < 0)
        throw SysError("KVM_GET_VCPU_MMAP_SIZE");
    return static_cast<std::size_t>(size);
}

std::vector<kvm_cpuid_entry2> Kvm::supported_cpuid() const
{
    // The caller sizes the buffer; E2BIG means "more entries than that". KVM's own limit
    // (KVM_MAX_CPUID_ENTRIES) is 256 on current kernels; some refuse a larger nent with EINVAL,
    // so start there and grow only on E2BIG.
    for (std::size_t capacity = 256; capacity <= 4096; capacity *= 2) {
        FlexArrayBuffer<kvm_cpuid_entry2> buffer(capacity);
        if (::ioctl(m_fd.get(), kIoctlGetSupportedCpuid, buffer.data()) == 0)
            return buffer.entries();
        if (errno != E2BIG)
            throw SysError("KVM_GET_SUPPORTED_CPUID");
    }
    throw SysError("KVM_GET_SUPPORTED_CPUID", E2BIG);
}

std::vector<std::uint32_t> Kvm::msr_index_list() const
{
    // As for the CPUID list: E2BIG (with the count filled in) means "a bigger buffer".
    for (std::size_t capacity = 256; capacity <= 16384; capacity *= 4) {
        std::vector<std::uint32_t> buffer(1 + capacity);
        buffer[0] = static_cast<std::uint32_t>(capacity);
        if (::ioctl(m_fd.get(), kIoctlGetMsrIndexList, buffer.data()) == 0) {
            const std::size_t count = std::min<std::size_t>(buffer[0], capacity);
            return {buffer.begin() + 1, buffer.begin() + 1 + static_cast<std::ptrdiff_t>(count)};
        }
        if (errno != E2BIG)
            throw SysError("KVM_GET_MSR_INDEX_LIST");
    }
    throw SysError("KVM_GET_MSR_INDEX_LIST", E2BIG);
}

std::size_t Kvm::xsave_size() const
{
    if (check_extension(KVM_CAP_XSAVE) <= 0)
        return 0;
    // Documentation/virt/kvm/api.rst 4.132 (KVM_GET_XSAVE2): KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)
    // gives the size of the buffer; it is never smaller than struct kvm_xsave.
    const int size = check_extension(KVM_CAP_XSAVE2);
    return std::max<std::size_t>(sizeof(kvm_xsave), size > 0 ? static_cast<std::size_t>(size) : 0);
}

VmFd Kvm::create_vm() const
{
    // Retry on EINTR: KVM_CREATE_VM can be interrupted while the host allocates.
    int vm;
    do {
        vm = ::ioctl(m_fd.get(), KVM_CREATE_VM, 0);
    } while (vm < 0 && errno == EINTR);
    if (vm < 0)
        throw SysError("KVM_CREATE_VM");
    return VmFd(UniqueFd(vm), vcpu_mmap_size());
}

} // namespace minivmm::kvm
