// VirtioMmioSlot: one virtio device on the virtio-mmio transport, plugged into the machine:
// its 4 KiB register window on the MMIO bus, an irqfd for its interrupt line, one ioeventfd per
// queue for QueueNotify (so a kick never holds the vCPU thread while the device works), its host
// fds on the event loop, and the `virtio_mmio.device=` cmdline entry that announces it to the
// guest (Linux Documentation/admin-guide/kernel-parameters.txt, "virtio_mmio.device").
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "vmm/base/event_fd.hpp"
#include "vmm/base/event_loop.hpp"
#include "vmm/bus/bus.hpp"
#include "vmm/kvm/vm_fd.hpp"
#include "vmm/vm/kvm_interrupt_line.hpp"

namespace minivmm::vm {

class VirtioMmioSlot {
public:
    // Device number `slot` sits at layout::kVirtioMmioBase + slot * 4 KiB with IRQ 5 + slot.
    VirtioMmioSlot(unsigned slot, std::string name, std::unique_ptr<virtio::VirtioDevice> device, const kvm::VmFd& vm,
        const GuestMemory& memory, Bus& mmio_bus, EventLoop& loop);
    ~VirtioMmioSlot();
    VirtioMmioSlot(const VirtioMmioSlot&) = delete;
    VirtioMmioSlot& operator=(const VirtioMmioSlot&) = delete;

    // "virtio_mmio.device=4K@0xd0000000:5"
    [[nodiscard]] std::string cmdline_entry() const;
    [[nodiscard]] virtio::VirtioMmioTransport& transport() { return *m_transport; }

    // Control API pause (on the loop thread): the device's fds (queue notifiers, io_uring
    // completions, tap) are held on the loop, so no queue runs and no frame reaches guest memory,
    // and host I/O in flight is completed to the guest first. False when I/O did not complete
    // within `timeout` (the fds stay held; resume() undoes it).
    bool pause(std::chrono::milliseconds timeout);
    void resume();
    // After a restore: every queue is processed once when the loop starts, as after a guest's
    // QueueNotify (the restored transport waits for one; chains published before the snapshot
    // were not all seen yet).
    void kick_all_queues();

    // The most devices the IRQ plan allows: ISA IRQs 5..15 (the MP table routes 0-15).
    static constexpr unsigned kMaxSlots = 11;

private:
    unsigned m_slot;
    std::uint64_t m_base;
    unsigned m_irq;
    EventLoop& m_loop;
    IrqFdInterrupt m_interrupt;
    std::shared_ptr<virtio::VirtioMmioTransport> m_transport;
    std::vector<std::unique_ptr<EventFd>> m_queue_notifiers;
    std::vector<int> m_watched_fds;
};

} // namespace minivmm::vm
