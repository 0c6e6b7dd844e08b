#include "vmm/vm/virtio_mmio_slot.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/memory/memory_layout.hpp"

namespace minivmm::vm {

VirtioMmioSlot::VirtioMmioSlot(unsigned slot, std::string name, std::unique_ptr<virtio::VirtioDevice> device,
    const kvm::VmFd& vm, const GuestMemory& memory, Bus& mmio_bus, EventLoop& loop)
    : m_slot(slot)
    , m_base(layout::kVirtioMmioBase + slot * layout::kVirtioMmioStride)
    , m_irq(layout::kVirtioMmioFirstIrq + slot)
    , m_loop(loop)
    , m_interrupt(vm, m_irq)
{
    if (slot >= kMaxSlots)
        throw UserError(fmt::format("too many virtio devices: at most {} fit the interrupt plan", kMaxSlots));
    const std::uint16_t queues = device->queue_count();
    m_transport = std::make_shared<virtio::VirtioMmioTransport>(std::move(name), std::move(device), memory, m_interrupt);
    mmio_bus.add(m_base, virtio::VirtioMmioTransport::kWindowSize, m_transport);

    // virtio-v1.2 §4.2.3.3: the driver writes the queue index to QueueNotify. KVM matches the
    // value and signals the queue's eventfd in the host kernel; the loop thread does the work.
    for (std::uint16_t queue = 0; queue < queues; ++queue) {
        auto notifier = std::make_unique<EventFd>();
        vm.register_ioeventfd(notifier->fd(), kvm::VmFd::IoSpace::Mmio,
            m_base + virtio::VirtioMmioTransport::kQueueNotifyOffset, 4, queue);
        EventFd* raw = notifier.get();
        loop.add(raw->fd(), EPOLLIN, [this, raw, queue](std::uint32_t) {
            raw->consume();
            m_transport->notify(queue);
        });
        m_watched_fds.push_back(raw->fd());
        m_queue_notifiers.push_back(std::move(notifier));
    }
    for (int fd : m_transport->device_event_fds()) {
        loop.add(fd, EPOLLIN, [this, fd](std::uint32_t) { m_transport->handle_device_event(fd); });
        m_watched_fds.push_back(fd);
    }
}

VirtioMmioSlot::~VirtioMmioSlot()
{
    for (int fd : m_watched_fds)
        m_loop.remove(fd);
}

std::string VirtioMmioSlot::cmdline_entry() const
{
    return fmt::format("virtio_mmio.device=4K@{:#x}:{}", m_base, m_irq);
}

} // namespace minivmm::vm
