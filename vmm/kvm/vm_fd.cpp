#include "vmm/kvm/vm_fd.hpp"

#include <sys/ioctl.h>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::kvm {

void VmFd::set_memory_slot(std::uint32_t slot, std::uint64_t guest_address, std::uint64_t size, void* host) const
{
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.guest_phys_addr = guest_address;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
    if (::ioctl(m_fd.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        throw SysError(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} at {:#x} ({} MiB)", slot, guest_address, size >> 20));
}

void VmFd::create_irqchip() const
{
    if (::ioctl(m_fd.get(), KVM_CREATE_IRQCHIP, 0) < 0)
        throw SysError("KVM_CREATE_IRQCHIP");
}

void VmFd::create_pit2() const
{
    kvm_pit_config config{};
    if (::ioctl(m_fd.get(), KVM_CREATE_PIT2, &config) < 0)
        throw SysError("KVM_CREATE_PIT2");
}

void VmFd::set_vmx_scratch_pages(std::uint64_t tss_address, std::uint64_t identity_map_address) const
{
    // Only VMX uses these (Documentation/virt/kvm/api.rst, KVM_SET_TSS_ADDR); other hosts may
    // reject them, which is harmless, so failures are ignored on purpose.
    std::uint64_t identity = identity_map_address;
    (void)::ioctl(m_fd.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity);
    (void)::ioctl(m_fd.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(tss_address));
}

void VmFd::set_irq_line(std::uint32_t gsi, bool asserted) const
{
    kvm_irq_level level{};
    level.irq = gsi;
    level.level = asserted ? 1 : 0;
    if (::ioctl(m_fd.get(), KVM_IRQ_LINE, &level) < 0)
        throw SysError(fmt::format("KVM_IRQ_LINE gsi {}", gsi));
}

void VmFd::register_irqfd(int event_fd, std::uint32_t gsi) const
{
    kvm_irqfd irqfd{};
    irqfd.fd = static_cast<std::uint32_t>(event_fd);
    irqfd.gsi = gsi;
    if (::ioctl(m_fd.get(), KVM_IRQFD, &irqfd) < 0)
        throw SysError(fmt::format("KVM_IRQFD gsi {}", gsi));
}

void VmFd::register_ioeventfd(int event_fd, IoSpace space, std::uint64_t address, std::uint32_t length,
    std::uint64_t value) const
{
    kvm_ioeventfd ioeventfd{};
    ioeventfd.datamatch = value;
    ioeventfd.addr = address;
    ioeventfd.len = length;
    ioeventfd.fd = event_fd;
    ioeventfd.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (space == IoSpace::Pio ? KVM_IOEVENTFD_FLAG_PIO : 0);
    if (::ioctl(m_fd.get(), KVM_IOEVENTFD, &ioeventfd) < 0)
        throw SysError(fmt::format("KVM_IOEVENTFD at {:#x}", address));
}

VcpuFd VmFd::create_vcpu(unsigned index) const
{
    const int fd = ::ioctl(m_fd.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(index));
    if (fd < 0)
        throw SysError(fmt::format("KVM_CREATE_VCPU {}", index));
    return VcpuFd(UniqueFd(fd), index, m_run_size);
}

kvm_irqchip VmFd::get_irqchip(std::uint32_t chip_id) const
{
    kvm_irqchip chip {};
    chip.chip_id = chip_id;
    if (::ioctl(m_fd.get(), KVM_GET_IRQCHIP, &chip) < 0)
        throw SysError(fmt::format("KVM_GET_IRQCHIP chip {}", chip_id));
    return chip;
}

void VmFd::set_irqchip(const kvm_irqchip& chip) const
{
    if (::ioctl(m_fd.get(), KVM_SET_IRQCHIP, const_cast<kvm_irqchip*>(&chip)) < 0)
        throw SysError(fmt::format("KVM_SET_IRQCHIP chip {}", chip.chip_id));
}

kvm_pit_state2 VmFd::get_pit2() const
{
    kvm_pit_state2 pit {};
    if (::ioctl(m_fd.get(), KVM_GET_PIT2, &pit) < 0)
        throw SysError("KVM_GET_PIT2");
    return pit;
}

void VmFd::set_pit2(const kvm_pit_state2& pit) const
{
    if (::ioctl(m_fd.get(), KVM_SET_PIT2, const_cast<kvm_pit_state2*>(&pit)) < 0)
        throw SysError("KVM_SET_PIT2");
}

kvm_clock_data VmFd::get_clock() const
{
    kvm_clock_data clock {};
    if (::ioctl(m_fd.get(), KVM_GET_CLOCK, &clock) < 0)
        throw SysError("KVM_GET_CLOCK");
    return clock;
}

void VmFd::set_clock(const kvm_clock_data& clock) const
{
    if (::ioctl(m_fd.get(), KVM_SET_CLOCK, const_cast<kvm_clock_data*>(&clock)) < 0)
        throw SysError("KVM_SET_CLOCK");
}

} // namespace minivmm::kvm
