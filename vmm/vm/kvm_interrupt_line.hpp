// The VMM's two InterruptLine implementations: KVM_IRQ_LINE for level-triggered legacy devices
// (the 16550's INTR), and an irqfd for edge notifications (virtio-mmio), which the host kernel
// injects without the device thread entering KVM.
#pragma once

#include <cstdint>
#include <mutex>

#include "vmm/base/event_fd.hpp"
#include "vmm/bus/interrupt_line.hpp"
#include "vmm/kvm/vm_fd.hpp"

namespace minivmm::vm {

class IrqLineInterrupt final : public InterruptLine {
public:
    IrqLineInterrupt(const kvm::VmFd& vm, std::uint32_t gsi) : m_vm(vm), m_gsi(gsi) {}
    void set_level(bool asserted) override;
    void pulse() override;

private:
    const kvm::VmFd& m_vm;
    std::uint32_t m_gsi;
    std::mutex m_mutex;
};

class IrqFdInterrupt final : public InterruptLine {
public:
    IrqFdInterrupt(const kvm::VmFd& vm, std::uint32_t gsi);
    // An irqfd has no level; asserting sends a pulse, which is what an edge source means.
    void set_level(bool asserted) override
    {
        if (asserted)
            pulse();
    }
    void pulse() override { m_event.signal(); }

private:
    EventFd m_event;
};

} // namespace minivmm::vm
