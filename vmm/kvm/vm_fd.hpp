// VmFd: one KVM virtual machine: memory slots, the in-kernel irqchip and PIT, interrupt lines,
// irqfds and ioeventfds, and vCPU creation. Owns its fd (RAII).
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "vmm/base/unique_fd.hpp"
#include "vmm/kvm/vcpu_fd.hpp"

namespace minivmm::kvm {

class VmFd {
public:
    VmFd(UniqueFd fd, std::size_t run_size) : m_fd(std::move(fd)), m_run_size(run_size) {}

    [[nodiscard]] int fd() const { return m_fd.get(); }

    // KVM_SET_USER_MEMORY_REGION: guest [guest_address, +size) is backed by host memory.
    void set_memory_slot(std::uint32_t slot, std::uint64_t guest_address, std::uint64_t size, void* host) const;
    // KVM_CREATE_IRQCHIP: PIC + IOAPIC + per-vCPU LAPIC emulated in the host kernel.
    void create_irqchip() const;
    // KVM_CREATE_PIT2: the i8254 in the host kernel (no speaker dummy port needed by us).
    void create_pit2() const;
    // KVM_SET_TSS_ADDR / KVM_SET_IDENTITY_MAP_ADDR: three pages (one for the identity map) that
    // Intel VMX needs for real-mode emulation. Ignored where the host has no use for them.
    void set_vmx_scratch_pages(std::uint64_t tss_address, std::uint64_t identity_map_address) const;

    // KVM_IRQ_LINE: drive a GSI's level (the in-kernel PIC and IOAPIC see it).
    void set_irq_line(std::uint32_t gsi, bool asserted) const;
    // KVM_IRQFD: a write to `event_fd` raises `gsi` (edge; for level add a resample fd).
    void register_irqfd(int event_fd, std::uint32_t gsi) const;
    enum class IoSpace { Pio, Mmio };
    // KVM_IOEVENTFD: a guest write of `length` bytes of `value` to `address` signals `event_fd`
    // in the host kernel, without an exit to user space.
    void register_ioeventfd(int event_fd, IoSpace space, std::uint64_t address, std::uint32_t length,
        std::uint64_t value) const;

    [[nodiscard]] VcpuFd create_vcpu(unsigned index) const;

    // The in-kernel devices' state for a snapshot (Documentation/virt/kvm/api.rst 4.26-4.27
    // KVM_GET/SET_IRQCHIP, 4.73-4.74 KVM_GET/SET_PIT2, 4.50-4.51 KVM_GET/SET_CLOCK).
    // chip_id: KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE or KVM_IRQCHIP_IOAPIC.
    [[nodiscard]] kvm_irqchip get_irqchip(std::uint32_t chip_id) const;
    void set_irqchip(const kvm_irqchip& chip) const;
    [[nodiscard]] kvm_pit_state2 get_pit2() const;
    void set_pit2(const kvm_pit_state2& pit) const;
    [[nodiscard]] kvm_clock_data get_clock() const;
    void set_clock(const kvm_clock_data& clock) const;

private:
    UniqueFd m_fd;
    std::size_t m_run_size;
};

} // namespace minivmm::kvm
