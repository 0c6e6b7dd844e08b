// SyncIoEngine: blocking preadv/pwritev/fdatasync/fallocate for virtio-blk, run on the calling
// (event-loop) thread; a completed flush means fdatasync returned (virtio-v1.2 §5.2.6). Transfers
// that O_DIRECT cannot take as they are go through a BounceTransfer.
#pragma once

#include "devices/virtio/blk/bounce_transfer.hpp"
#include "devices/virtio/blk/disk_image.hpp"
#include "devices/virtio/blk/io_engine.hpp"

namespace minivmm::virtio {

class SyncIoEngine final : public IoEngine {
public:
    explicit SyncIoEngine(const DiskImage& image) : m_image(image), m_bounce(image) {}
    void submit(BlkIo io) override;
    void commit() override {}
    std::vector<BlkCompletion> reap() override { return std::exchange(m_done, {}); }
    std::size_t in_flight() const override { return 0; }
    std::size_t capacity() const override { return 1; }
    void drain() override { m_done.clear(); }
    [[nodiscard]] const BounceTransfer& bounce() const { return m_bounce; }

private:
    int zero_ranges(const BlkIo& io) const; // Discard / WriteZeroes

    const DiskImage& m_image;
    BounceTransfer m_bounce;
    std::vector<BlkCompletion> m_done;
};

} // namespace minivmm::virtio
