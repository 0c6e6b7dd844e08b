#include "vmm/vm/kvm_interrupt_line.hpp"

namespace minivmm::vm {

void IrqLineInterrupt::set_level(bool asserted)
{
    std::lock_guard lock(m_mutex);
    m_vm.set_irq_line(m_gsi, asserted);
}

void IrqLineInterrupt::pulse()
{
    std::lock_guard lock(m_mutex);
    m_vm.set_irq_line(m_gsi, true);
    m_vm.set_irq_line(m_gsi, false);
}

IrqFdInterrupt::IrqFdInterrupt(const kvm::VmFd& vm, std::uint32_t gsi)
{
    vm.register_irqfd(m_event.fd(), gsi);
}

} // namespace minivmm::vm
