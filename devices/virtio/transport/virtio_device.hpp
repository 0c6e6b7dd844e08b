// VirtioDevice: a virtio device model (blk, net) independent of its transport (virtio-v1.2 §2
// "Basic Facilities of a Virtio Device", §3 "General Initialization And Device Operation").
// Every call is made by the transport with its lock held, so a device needs no lock of its own
// for state the transport drives.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>
#include <span>
#include <utility>
#include <vector>

#include "devices/virtio/queue/device_notifier.hpp"
#include "devices/virtio/queue/virt_queue.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::virtio {

// virtio-v1.2 §2.5 (Device Configuration Space): a read of `data.size()` bytes at `offset` of a
// device's configuration structure `config`; bytes beyond the structure read as zero.
template<typename Config>
void read_config_window(const Config& config, std::uint64_t offset, std::span<std::uint8_t> data)
{
    static_assert(std::is_trivially_copyable_v<Config>);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&config);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = offset + i < sizeof config ? bytes[offset + i] : 0;
}

class VirtioDevice {
public:
    // What the device gets when the driver sets DRIVER_OK (virtio-v1.2 §3.1.1 step 8).
    struct Activation {
        const GuestMemory& memory;
        std::uint64_t features;                    // negotiated: driver-accepted device features
        std::vector<std::optional<VirtQueue>> queues; // one per queue; nullopt when not enabled
        DeviceNotifier& notifier;
    };

    virtual ~VirtioDevice() = default;

    // virtio-v1.2 §5 "Device Types": 2 for block, 1 for network.
    [[nodiscard]] virtual std::uint32_t device_id() const = 0;
    // virtio-v1.2 §2.2 "Feature Bits": every bit the device offers, VIRTIO_F_VERSION_1 included.
    [[nodiscard]] virtual std::uint64_t device_features() const = 0;
    [[nodiscard]] virtual std::uint16_t queue_count() const = 0;
    [[nodiscard]] virtual std::uint16_t queue_max_size(std::uint16_t queue) const = 0;

    // virtio-v1.2 §2.5 "Device Configuration Space": `offset` from the start of the space;
    // bytes beyond the structure read as zero and writes there are ignored.
    virtual void read_config(std::uint64_t offset, std::span<std::uint8_t> data) const = 0;
    virtual void write_config(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;

    virtual void activate(Activation activation) = 0;
    // virtio-v1.2 §2.4 "Device Reset": drop queues and in-flight state; completes any host I/O
    // still touching guest memory before returning.
    virtual void reset() = 0;
    // The driver notified `queue` (virtio-v1.2 §2.3 "Notifications"); only after activate().
    virtual void process_queue(std::uint16_t queue) = 0;

    // Host fds the device wants the event loop to watch (e.g. an io_uring completion eventfd);
    // when one is readable the loop calls handle_event(fd) through the transport.
    [[nodiscard]] virtual std::vector<int> event_fds() const { return {}; }
    virtual void handle_event(int /*fd*/) {}
    // True while host I/O the device started still touches guest memory (a pause waits for it
    // through handle_event on the completion fd).
    [[nodiscard]] virtual bool io_in_flight() const { return false; }

    // Snapshot (issue "Snapshot and restore"), called by the transport under its lock, inside
    // the transport's own payload. save_state runs while the VM is paused (host I/O completed):
    // the device writes its own state and, when active, each queue's progress and the chains it
    // holds (queue_state.hpp). A device with queues must override both; the defaults save
    // nothing, which only a device without progress of its own (a test fake) may rely on.
    virtual void save_state(snapshot::StateWriter& /*out*/) const {}
    // On a freshly built device, with what save_state wrote. `activation` is set when the
    // transport restored a running device (DRIVER_OK): the device takes it as activate() would,
    // with the queues built from the restored addresses and already validated, then restores
    // their progress; it processes nothing until the next process_queue() (the VMM kicks every
    // queue once the machine is whole). Throws SnapshotError; the transport then resets the
    // device, so a failed restore leaves it as after a reset.
    virtual void restore_state(snapshot::StateReader& /*in*/, Activation* activation)
    {
        if (activation)
            activate(std::move(*activation));
    }
};

} // namespace minivmm::virtio
