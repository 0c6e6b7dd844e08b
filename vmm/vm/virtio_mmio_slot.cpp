#include "vmm/vm/virtio_mmio_slot.hpp"

#include <poll.h>

#include <cerrno>

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
    // The device's own host fds go on the loop before the transport exists: the transport resets
    // the device when it is built, and a device may turn its interest in an fd off right there
    // (virtio-net without receive buffers); that must find the fd registered.
    for (int fd : device->event_fds()) {
        loop.add(fd, EPOLLIN, [this, fd](std::uint32_t events) {
            // epoll reports errors and hang-ups even when the device turned its interest off
            // (e.g. a tap deleted under us): stop watching instead of spinning on it.
            if (events & (EPOLLERR | EPOLLHUP)) {
                fmt::print(stderr, "minivmm: {}: host fd {} failed (events {:#x}); no longer watched\n",
                    m_transport->name(), fd, events);
                m_loop.remove(fd);
                return;
            }
            m_transport->handle_device_event(fd);
        });
        m_watched_fds.push_back(fd);
    }
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
    // A device that stops a pass on its budget (queue_runner.hpp) is run again through the same
    // eventfd a guest kick uses: the loop sees it ready on its next round, after the fds that
    // were ready with it (signals, timers, stdin, other devices) have been served.
    m_transport->set_queue_rerun([this](std::uint16_t queue) {
        if (queue < m_queue_notifiers.size())
            m_queue_notifiers[queue]->signal();
    });
}

bool VirtioMmioSlot::pause(std::chrono::milliseconds timeout)
{
    for (int fd : m_watched_fds)
        m_loop.suspend(fd);
    // Completions arrive on the device's own fds (io_uring's eventfd); wait on them here, with
    // the loop held, until nothing the device started is in flight.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::vector<int> fds = m_transport->device_event_fds();
    while (m_transport->with_device([](const virtio::VirtioDevice& device) { return device.io_in_flight(); })) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || fds.empty())
            return false;
        std::vector<pollfd> polled;
        for (int fd : fds)
            polled.push_back({fd, POLLIN, 0});
        if (::poll(polled.data(), polled.size(), static_cast<int>(left.count())) < 0 && errno != EINTR)
            throw SysError("poll for a device's in-flight I/O");
        for (const auto& entry : polled)
            if (entry.revents & POLLIN)
                m_transport->handle_device_event(entry.fd);
    }
    return true;
}

void VirtioMmioSlot::resume()
{
    for (int fd : m_watched_fds)
        m_loop.resume(fd);
}

void VirtioMmioSlot::kick_all_queues()
{
    for (auto& notifier : m_queue_notifiers)
        notifier->signal();
}

VirtioMmioSlot::~VirtioMmioSlot()
{
    m_transport->set_queue_rerun({}); // the transport may outlive the slot on the bus
    for (int fd : m_watched_fds)
        m_loop.remove(fd);
}

std::string VirtioMmioSlot::cmdline_entry() const
{
    return fmt::format("virtio_mmio.device=4K@{:#x}:{}", m_base, m_irq);
}

} // namespace minivmm::vm
