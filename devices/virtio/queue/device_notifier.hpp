// DeviceNotifier: what a virtio device model asks of its transport (virtio-v1.2 §2.3
// "Notifications", §2.1.2 "Device Status Field": DEVICE_NEEDS_RESET, §2.5 "Device Configuration
// Space": configuration changes). The transport maps these
// onto its own interrupt mechanism (mmio: InterruptStatus + a line; pci: MSI-X vectors).
#pragma once

#include <cstdint>
#include <string_view>

namespace minivmm::virtio {

class DeviceNotifier {
public:
    virtual ~DeviceNotifier() = default;
    // A used-buffer notification for `queue` (the device has already checked suppression).
    virtual void signal_used_queue(std::uint16_t queue) = 0;
    // The driver broke a rule the device cannot recover from: set DEVICE_NEEDS_RESET, send a
    // configuration change notification, log `what` with a rate limit.
    virtual void report_guest_error(std::string_view what) = 0;
    // The device stopped working on `queue` with chains possibly left (its per-pass budget, see
    // queue_runner.hpp): call process_queue(queue) again soon from the event loop, after the
    // loop's other ready fds, whether or not the driver notifies again. Asking twice before the
    // re-run may run the queue once or twice; a re-run after a reset finds nothing to do.
    virtual void schedule_queue_rerun(std::uint16_t queue) = 0;
    // The device changed its configuration space on its own (e.g. an online resize changed
    // virtio-blk's capacity): virtio-v1.2 §2.5.1 (Driver Requirements: Device Configuration
    // Space) has the driver re-read while the configuration generation changes, so the
    // transport bumps it, and §2.3 (Notifications) sends a configuration change notification.
    virtual void notify_config_change() = 0;
};

} // namespace minivmm::virtio
