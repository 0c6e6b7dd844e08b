#include "vmm/kvm/vcpu_fd.hpp"

#include <sys/ioctl.h>

#include <cerrno>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/kvm/flex_array_abi.hpp"

namespace minivmm::kvm {

namespace {
void vcpu_ioctl(int fd, unsigned long request, void* argument, const char* name, unsigned index)
{
    if (::ioctl(fd, request, argument) < 0)
        throw SysError(fmt::format("{} on vCPU {}", name, index));
}
} // namespace

VcpuFd::VcpuFd(UniqueFd fd, unsigned index, std::size_t run_size)
    : m_fd(std::move(fd))
    , m_index(index)
    , m_run(Mapping::map(run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m_fd.get(), 0))
{
}

VmExit VcpuFd::run()
{
    if (::ioctl(m_fd.get(), KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return InterruptedExit {};
        throw SysError(fmt::format("KVM_RUN on vCPU {}", m_index));
    }
    kvm_run* run = run_area();
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        // The data area lies inside the run mapping at data_offset; KVM guarantees it fits, but
        // we check anyway rather than trust a value from shared memory.
        const std::size_t length = std::size_t(run->io.size) * run->io.count;
        if (run->io.data_offset > m_run.size() || length > m_run.size() - run->io.data_offset)
            return UnknownExit {run->exit_reason};
        return IoExit {run->io.port, run->io.direction == KVM_EXIT_IO_OUT ? Direction::Write : Direction::Read,
            run->io.size, run->io.count, {m_run.data() + run->io.data_offset, length}};
    }
    case KVM_EXIT_MMIO:
        return MmioExit {run->mmio.phys_addr, run->mmio.is_write ? Direction::Write : Direction::Read,
            {run->mmio.data, std::min<std::size_t>(run->mmio.len, sizeof run->mmio.data)}};
    case KVM_EXIT_SHUTDOWN:
        return ShutdownExit {};
    case KVM_EXIT_HLT:
        return HaltExit {};
    case KVM_EXIT_INTR:
        return InterruptedExit {};
    case KVM_EXIT_SYSTEM_EVENT:
        return SystemEventExit {run->system_event.type};
    case KVM_EXIT_INTERNAL_ERROR:
        return InternalErrorExit {run->internal.suberror,
            {run->internal.data, std::min<std::size_t>(run->internal.ndata, std::size(run->internal.data))}};
    case KVM_EXIT_DEBUG:
        return DebugExit {run->debug.arch.exception, run->debug.arch.pc, run->debug.arch.dr6, run->debug.arch.dr7};
    case KVM_EXIT_FAIL_ENTRY:
        return FailEntryExit {run->fail_entry.hardware_entry_failure_reason};
    default:
        return UnknownExit {run->exit_reason};
    }
}

void VcpuFd::set_immediate_exit(bool value)
{
    // The run area is shared with the kernel; a volatile store keeps the compiler from
    // caching or eliding it.
    std::atomic_ref<std::uint8_t>(run_area()->immediate_exit).store(value ? 1 : 0, std::memory_order_release);
}

kvm_regs VcpuFd::get_regs() const
{
    kvm_regs regs{};
    vcpu_ioctl(m_fd.get(), KVM_GET_REGS, &regs, "KVM_GET_REGS", m_index);
    return regs;
}

void VcpuFd::set_regs(const kvm_regs& regs) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_REGS, const_cast<kvm_regs*>(&regs), "KVM_SET_REGS", m_index);
}

kvm_sregs VcpuFd::get_sregs() const
{
    kvm_sregs sregs{};
    vcpu_ioctl(m_fd.get(), KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", m_index);
    return sregs;
}

void VcpuFd::set_sregs(const kvm_sregs& sregs) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_SREGS, const_cast<kvm_sregs*>(&sregs), "KVM_SET_SREGS", m_index);
}

kvm_lapic_state VcpuFd::get_lapic() const
{
    kvm_lapic_state lapic{};
    vcpu_ioctl(m_fd.get(), KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", m_index);
    return lapic;
}

void VcpuFd::set_lapic(const kvm_lapic_state& lapic) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_LAPIC, const_cast<kvm_lapic_state*>(&lapic), "KVM_SET_LAPIC", m_index);
}

void VcpuFd::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const
{
    FlexArrayBuffer<kvm_cpuid_entry2> buffer {std::span<const kvm_cpuid_entry2>(entries)};
    vcpu_ioctl(m_fd.get(), kIoctlSetCpuid2, buffer.data(), "KVM_SET_CPUID2", m_index);
}

void VcpuFd::set_msrs(const std::vector<kvm_msr_entry>& msrs) const
{
    FlexArrayBuffer<kvm_msr_entry> buffer {std::span<const kvm_msr_entry>(msrs)};
    const int written = ::ioctl(m_fd.get(), kIoctlSetMsrs, buffer.data());
    if (written < 0)
        throw SysError(fmt::format("KVM_SET_MSRS on vCPU {}", m_index));
    if (static_cast<std::size_t>(written) != msrs.size())
        throw SysError(fmt::format("KVM_SET_MSRS on vCPU {}: MSR {:#x} refused", m_index, msrs[written].index), EINVAL);
}

kvm_vcpu_events VcpuFd::get_events() const
{
    kvm_vcpu_events events{};
    vcpu_ioctl(m_fd.get(), KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS", m_index);
    return events;
}

void VcpuFd::set_events(const kvm_vcpu_events& events) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_VCPU_EVENTS, const_cast<kvm_vcpu_events*>(&events), "KVM_SET_VCPU_EVENTS", m_index);
}

bool VcpuFd::get_fpu(kvm_fpu& fpu) const
{
    return ::ioctl(m_fd.get(), KVM_GET_FPU, &fpu) == 0;
}

bool VcpuFd::translate(std::uint64_t linear, std::uint64_t& physical, kvm_translation* details) const
{
    kvm_translation translation{};
    translation.linear_address = linear;
    if (::ioctl(m_fd.get(), KVM_TRANSLATE, &translation) < 0 || !translation.valid)
        return false;
    physical = translation.physical_address;
    if (details)
        *details = translation;
    return true;
}

void VcpuFd::set_guest_debug(const kvm_guest_debug& debug) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_GUEST_DEBUG, const_cast<kvm_guest_debug*>(&debug), "KVM_SET_GUEST_DEBUG", m_index);
}

bool VcpuFd::get_xsave(kvm_xsave& xsave) const
{
    return ::ioctl(m_fd.get(), KVM_GET_XSAVE, &xsave) == 0;
}

bool VcpuFd::set_xsave(const kvm_xsave& xsave) const
{
    return ::ioctl(m_fd.get(), KVM_SET_XSAVE, const_cast<kvm_xsave*>(&xsave)) == 0;
}

bool VcpuFd::set_fpu(const kvm_fpu& fpu) const
{
    return ::ioctl(m_fd.get(), KVM_SET_FPU, const_cast<kvm_fpu*>(&fpu)) == 0;
}

} // namespace minivmm::kvm

namespace minivmm::kvm {

std::vector<kvm_msr_entry> VcpuFd::get_msrs(const std::vector<std::uint32_t>& indices) const
{
    // KVM_GET_MSRS returns how many entries it read and stops at the first it cannot (api.rst
    // 4.18): read the batch, then the refused one alone (dropped) and the rest again.
    std::vector<kvm_msr_entry> read;
    std::size_t next = 0;
    while (next < indices.size()) {
        std::vector<kvm_msr_entry> batch;
        for (std::size_t i = next; i < indices.size(); ++i) {
            kvm_msr_entry entry {};
            entry.index = indices[i];
            batch.push_back(entry);
        }
        FlexArrayBuffer<kvm_msr_entry> buffer {std::span<const kvm_msr_entry>(batch)};
        const int count = ::ioctl(m_fd.get(), kIoctlGetMsrs, buffer.data());
        if (count < 0)
            throw SysError(fmt::format("KVM_GET_MSRS on vCPU {}", m_index));
        const auto entries = buffer.entries();
        for (int i = 0; i < count && static_cast<std::size_t>(i) < entries.size(); ++i)
            read.push_back(entries[static_cast<std::size_t>(i)]);
        next += static_cast<std::size_t>(count) + 1; // skip the one KVM refused
    }
    return read;
}

std::size_t VcpuFd::try_set_msrs(const std::vector<kvm_msr_entry>& msrs) const
{
    if (msrs.empty())
        return 0;
    FlexArrayBuffer<kvm_msr_entry> buffer {std::span<const kvm_msr_entry>(msrs)};
    const int written = ::ioctl(m_fd.get(), kIoctlSetMsrs, buffer.data());
    if (written < 0)
        throw SysError(fmt::format("KVM_SET_MSRS on vCPU {}", m_index));
    return static_cast<std::size_t>(written);
}

std::vector<kvm_cpuid_entry2> VcpuFd::get_cpuid() const
{
    for (std::size_t capacity = 256; capacity <= 4096; capacity *= 2) {
        FlexArrayBuffer<kvm_cpuid_entry2> buffer(capacity);
        if (::ioctl(m_fd.get(), kIoctlGetCpuid2, buffer.data()) == 0)
            return buffer.entries();
        if (errno != E2BIG)
            throw SysError(fmt::format("KVM_GET_CPUID2 on vCPU {}", m_index));
    }
    throw SysError(fmt::format("KVM_GET_CPUID2 on vCPU {}", m_index), E2BIG);
}

kvm_mp_state VcpuFd::get_mp_state() const
{
    kvm_mp_state state {};
    vcpu_ioctl(m_fd.get(), KVM_GET_MP_STATE, &state, "KVM_GET_MP_STATE", m_index);
    return state;
}

void VcpuFd::set_mp_state(const kvm_mp_state& state) const
{
    vcpu_ioctl(m_fd.get(), KVM_SET_MP_STATE, const_cast<kvm_mp_state*>(&state), "KVM_SET_MP_STATE", m_index);
}

std::optional<std::vector<std::uint8_t>> VcpuFd::get_xsave_area(std::size_t size) const
{
    if (size < sizeof(kvm_xsave))
        return std::nullopt;
    std::vector<std::uint8_t> area(size);
    const unsigned long request = size > sizeof(kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
    if (::ioctl(m_fd.get(), request, area.data()) < 0)
        return std::nullopt;
    return area;
}

bool VcpuFd::set_xsave_area(std::span<const std::uint8_t> area) const
{
    if (area.size() < sizeof(kvm_xsave))
        return false;
    return ::ioctl(m_fd.get(), KVM_SET_XSAVE, const_cast<std::uint8_t*>(area.data())) == 0;
}

bool VcpuFd::get_xcrs(kvm_xcrs& xcrs) const { return ::ioctl(m_fd.get(), KVM_GET_XCRS, &xcrs) == 0; }
bool VcpuFd::set_xcrs(const kvm_xcrs& xcrs) const { return ::ioctl(m_fd.get(), KVM_SET_XCRS, const_cast<kvm_xcrs*>(&xcrs)) == 0; }
bool VcpuFd::get_debugregs(kvm_debugregs& debugregs) const { return ::ioctl(m_fd.get(), KVM_GET_DEBUGREGS, &debugregs) == 0; }
bool VcpuFd::set_debugregs(const kvm_debugregs& debugregs) const
{
    return ::ioctl(m_fd.get(), KVM_SET_DEBUGREGS, const_cast<kvm_debugregs*>(&debugregs)) == 0;
}

std::uint32_t VcpuFd::tsc_khz() const
{
    const int khz = ::ioctl(m_fd.get(), KVM_GET_TSC_KHZ, 0);
    return khz > 0 ? static_cast<std::uint32_t>(khz) : 0;
}

} // namespace minivmm::kvm
