// VirtioBlk: the virtio block device model (virtio-v1.2 §5.2 "Block Device"): one request queue,
// read/write/flush/get-id/discard/write-zeroes against a DiskImage, through a sync or io_uring
// engine, with a RequestGate seam for rate limiting, online resize (§5.2.4 capacity, §2.5.1
// configuration changes) and a WriteInterceptor seam for copy-before-write.
#pragma once

#include <linux/virtio_blk.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "devices/virtio/blk/disk_image.hpp"
#include "devices/virtio/blk/disk_spec.hpp"
#include "devices/virtio/blk/io_engine.hpp"
#include "devices/virtio/blk/write_interceptor.hpp"
#include "devices/virtio/queue/queue_runner.hpp"
#include "devices/virtio/queue/rate_limited_log.hpp"
#include "devices/virtio/queue/request_gate.hpp"
#include "devices/virtio/transport/virtio_device.hpp"
#include "vmm/base/expected.hpp"

namespace minivmm::virtio {

class VirtioBlk final : public VirtioDevice {
public:
    static constexpr std::uint32_t kDeviceId = 2; // virtio-v1.2 §5 (Device Types)
    static constexpr std::uint16_t kQueueSize = 256;
    static constexpr std::uint32_t kSectorSize = 512;
    static constexpr std::uint32_t kMaxDiscardSegments = 16;
    static constexpr std::uint32_t kMaxDiscardSectors = 0x40'0000; // 2 GiB per segment

    // Opens the disk (throws SysError/UserError: missing file, locked image, io_uring setup).
    static std::unique_ptr<VirtioBlk> create(const DiskSpec& spec);
    VirtioBlk(DiskImage image, std::string serial, DiskEngine engine);
    ~VirtioBlk() override;

    // Installs the rate-limiting seam (nullptr: no limit). Call before the guest starts.
    void set_request_gate(std::shared_ptr<RequestGate> gate) { m_gate = std::move(gate); }

    // The calls below are made while the device is not running anything else: with its
    // transport's lock held (VirtioMmioTransport::with_device), which is how the event-loop
    // thread runs the device too.

    // Online resize: grows the image to `new_size_bytes` (a multiple of 512; ftruncate, the new
    // space a hole), so the capacity read from the configuration space changes (virtio-v1.2
    // §5.2.4 "Device configuration layout"), then asks the transport to bump the configuration
    // generation and send a configuration change notification (§2.5.1, §4.2.3.4) so the driver
    // sees the new size at once. Before the driver set DRIVER_OK there is no transport to tell:
    // the driver reads the capacity when it gets there. Refused (error text, nothing changed):
    // a shrink, a size that is not a multiple of 512, a read-only image, a block device.
    Expected<void, std::string> resize(std::uint64_t new_size_bytes);

    // Installs (nullptr: removes) the copy-before-write seam: from the next request on, every
    // write, write-zeroes and discard calls interceptor->before_write(offset, length) before
    // it reaches the image. The interceptor must outlive its installation.
    void set_write_interceptor(WriteInterceptor* interceptor) { m_write_interceptor = interceptor; }
    [[nodiscard]] WriteInterceptor* write_interceptor() const { return m_write_interceptor; }

    // Waits for every request already handed to the I/O engine and completes it to the guest
    // (used ring + notification), so that afterwards the image holds exactly the writes the
    // guest has seen complete, and no write is in flight. An online backup calls it before it
    // installs its interceptor: its point in time is then well defined. Requests still in the
    // ring (e.g. waiting for a free engine slot) stay there: call process_queue(0) afterwards
    // so they are not left waiting for the next notification. False only if waiting failed
    // (poll(2) on the engine's eventfd), with requests possibly still in flight.
    [[nodiscard]] bool quiesce_writes();

    std::uint32_t device_id() const override { return kDeviceId; }
    std::uint64_t device_features() const override { return m_features; }
    std::uint16_t queue_count() const override { return 1; }
    std::uint16_t queue_max_size(std::uint16_t) const override { return kQueueSize; }
    void read_config(std::uint64_t offset, std::span<std::uint8_t> data) const override;
    void write_config(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    void activate(Activation activation) override;
    void reset() override;
    void process_queue(std::uint16_t queue) override;
    std::vector<int> event_fds() const override;
    void handle_event(int fd) override;
    [[nodiscard]] bool io_in_flight() const override { return m_engine && m_engine->in_flight() > 0; }
    // Snapshot: the disk's size (a restore onto a disk that changed size is refused), and when
    // active the requestq's progress with the request the rate limiter held back. Saving with
    // host I/O in flight throws SnapshotError: pause first.
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in, Activation* activation) override;

    [[nodiscard]] const DiskImage& image() const { return m_image; }

private:
    // A discard or write-zeroes request checked against the spec: either the status to answer
    // at once, or the byte ranges to hand to the engine.
    struct ZeroingPlan {
        std::uint8_t status = VIRTIO_BLK_S_OK; // anything else: answer this, touch nothing
        std::vector<BlkRange> ranges;          // when OK: bytes of the disk, in request order
        std::uint64_t bytes = 0;               // their total: what the I/O limiter is charged
    };

    void run_queue();
    QueueRunner::Handled handle_chain(const DescriptorChain& chain);
    ZeroingPlan plan_zeroing(std::uint32_t type, const std::vector<GuestRange>& payload,
        std::uint64_t payload_bytes) const;
    void before_image_change(std::uint64_t offset, std::uint64_t length);
    void complete(std::uint16_t head, std::uint64_t status_address, std::uint8_t status, std::uint32_t used_length);
    void complete_io(const std::vector<BlkCompletion>& done);
    void notify_if_needed();
    bool negotiated(unsigned bit) const { return m_negotiated & (std::uint64_t(1) << bit); }
    std::vector<iovec> host_iovecs(const std::vector<GuestRange>& ranges) const;

    DiskImage m_image;
    std::string m_serial;
    std::uint64_t m_features;
    std::unique_ptr<IoEngine> m_engine;
    std::shared_ptr<RequestGate> m_gate;
    WriteInterceptor* m_write_interceptor = nullptr;
    RateLimitedLog m_log;

    // Set by activate(), cleared by reset().
    const GuestMemory* m_memory = nullptr;
    DeviceNotifier* m_notifier = nullptr;
    std::uint64_t m_negotiated = 0;
    std::optional<VirtQueue> m_queue;
    QueueRunner m_runner{0, "requestq"}; // budget, the chain the gate refused, a broken ring
};

} // namespace minivmm::virtio
