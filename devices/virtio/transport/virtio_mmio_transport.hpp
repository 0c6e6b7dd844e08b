// VirtioMmioTransport: the virtio-mmio version 2 register interface (virtio-v1.2 §4.2.2
// "MMIO Device Register Layout") in front of one VirtioDevice, with the §3.1.1 initialization
// sequence, feature negotiation (§2.2), device reset (§2.4) and interrupts (§4.2.3.4).
// Thread-safe: vCPU threads access registers while the event-loop thread runs notify() and
// device events; one mutex serializes all of it, and every device call happens under it.
#pragma once

#include <linux/virtio_mmio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/virtio/queue/device_notifier.hpp"
#include "devices/virtio/queue/queue_config.hpp"
#include "devices/virtio/queue/rate_limited_log.hpp"
#include "devices/virtio/transport/virtio_device.hpp"
#include "vmm/bus/bus_device.hpp"
#include "vmm/bus/interrupt_line.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/snapshot/snapshottable.hpp"

namespace minivmm::virtio {

class VirtioMmioTransport final : public BusDevice, public snapshot::Snapshottable, private DeviceNotifier {
public:
    // The register window the VMM maps for one device (4 KiB slots, DESIGN.md memory map).
    static constexpr std::uint64_t kWindowSize = 0x1000;
    // Where the VMM registers the queue-notify ioeventfd: 4 bytes, datamatch = queue index.
    static constexpr std::uint64_t kQueueNotifyOffset = VIRTIO_MMIO_QUEUE_NOTIFY;
    // virtio-v1.2 §4.2.2: MagicValue 0x74726976 ("virt" in little-endian ASCII).
    static constexpr std::uint32_t kMagicValue = 0x74726976;
    static constexpr std::uint32_t kVersion = 2;
    static constexpr std::uint32_t kVendorId = 0x4d56'4d4d; // "MMVM"

    // `memory` and `interrupt` must outlive the transport. `interrupt` gets one pulse per
    // interrupt; the VMM backs it with an irqfd.
    VirtioMmioTransport(std::string name, std::unique_ptr<VirtioDevice> device, const GuestMemory& memory,
        InterruptLine& interrupt);
    ~VirtioMmioTransport() override;

    [[nodiscard]] std::string_view name() const override { return m_name; }
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

    // A QueueNotify for `queue` arrived through the ioeventfd (call on the event-loop thread).
    void notify(std::uint16_t queue);
    // How the VMM runs a queue again later when the device asks (its per-pass budget ran out,
    // queue_runner.hpp): `rerun(queue)` must make the event loop call notify(queue) after the
    // loop's other ready fds -- VirtioMmioSlot signals the queue's ioeventfd. Called with the
    // transport lock held: it must not call back into the transport. Set before the guest runs;
    // without one (unit tests) the rest waits for the driver's next notification.
    void set_queue_rerun(std::function<void(std::uint16_t queue)> rerun) { m_queue_rerun = std::move(rerun); }
    // The device's host fd `fd` (from device_event_fds()) is readable.
    void handle_device_event(int fd);
    [[nodiscard]] std::vector<int> device_event_fds() const;
    // virtio-v1.2 §2.5.1 / §4.2.3.4: the device configuration changed (e.g. online resize):
    // bump ConfigGeneration and raise VIRTIO_MMIO_INT_CONFIG. Takes the lock; a device inside
    // a transport call uses DeviceNotifier::notify_config_change() instead.
    void signal_config_change();

    // Snapshot (issue "Snapshot and restore"): device status, feature selects and the driver's
    // features, queue select, each queue's size, ready bit and ring addresses, the configuration
    // generation and the InterruptStatus bits, then the device's own state (its queues' progress
    // included). Restore rebuilds a running device's VirtQueues from the restored addresses,
    // validated against guest memory exactly as at DRIVER_OK, without the guest's feature
    // negotiation; the device then waits for a notify() of each queue. Neither raises an
    // interrupt: a pending one is part of the interrupt controller's saved state. A payload that
    // fails validation throws SnapshotError and leaves the transport reset. Take the snapshot
    // while the VM is paused (VirtioBlk refuses with host I/O in flight).
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in) override;

    [[nodiscard]] std::uint32_t status() const;
    [[nodiscard]] std::uint32_t interrupt_status() const;
    // For tests: run `fn(device)` under the transport lock.
    template<typename Fn>
    auto with_device(Fn&& fn)
    {
        std::lock_guard lock(m_mutex);
        return fn(*m_device);
    }

private:
    std::uint32_t read_register(std::uint64_t offset);
    void write_register(std::uint64_t offset, std::uint32_t value);
    void write_status(std::uint32_t value);
    bool features_acceptable() const;
    void activate_device();
    void reset_locked();
    void notify_locked(std::uint16_t queue);
    void raise(std::uint32_t interrupt_bits);
    QueueConfig* selected_queue();
    bool queue_config_writable();

    // DeviceNotifier (called by the device with m_mutex held).
    void signal_used_queue(std::uint16_t queue) override;
    void report_guest_error(std::string_view what) override;
    void schedule_queue_rerun(std::uint16_t queue) override;
    void notify_config_change() override;

    std::string m_name;
    std::unique_ptr<VirtioDevice> m_device;
    const GuestMemory& m_memory;
    InterruptLine& m_interrupt;
    RateLimitedLog m_log;
    std::function<void(std::uint16_t)> m_queue_rerun;

    mutable std::mutex m_mutex;
    std::uint32_t m_status = 0;
    std::uint32_t m_interrupt_status = 0;
    std::uint32_t m_config_generation = 0;
    std::uint32_t m_device_features_sel = 0;
    std::uint32_t m_driver_features_sel = 0;
    std::uint64_t m_driver_features = 0;
    std::uint32_t m_queue_sel = 0;
    std::uint32_t m_shm_sel = 0;
    std::vector<QueueConfig> m_queues;
    bool m_activated = false;
};

} // namespace minivmm::virtio
