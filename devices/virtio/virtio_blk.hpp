// VirtioBlk: the virtio block device model (virtio-v1.2 §5.2 "Block Device"): one request queue,
// read/write/flush/get-id/discard/write-zeroes against a DiskImage, through a sync or io_uring
// engine, with a RequestGate seam for rate limiting.
#pragma once

#include <linux/virtio_blk.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "devices/virtio/disk_image.hpp"
#include "devices/virtio/disk_spec.hpp"
#include "devices/virtio/io_engine.hpp"
#include "devices/virtio/queue_runner.hpp"
#include "devices/virtio/rate_limited_log.hpp"
#include "devices/virtio/request_gate.hpp"
#include "devices/virtio/virtio_device.hpp"

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
    RateLimitedLog m_log;

    // Set by activate(), cleared by reset().
    const GuestMemory* m_memory = nullptr;
    DeviceNotifier* m_notifier = nullptr;
    std::uint64_t m_negotiated = 0;
    std::optional<VirtQueue> m_queue;
    QueueRunner m_runner{0, "requestq"}; // budget, the chain the gate refused, a broken ring
};

} // namespace minivmm::virtio
