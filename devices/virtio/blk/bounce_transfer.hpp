// BounceTransfer: runs a virtio-blk read or write that O_DIRECT cannot take as it is through an
// aligned bounce buffer. virtio-v1.2 §2.7.4.1 (Message Framing) lets the driver split the data
// at any byte, and §5.2.5 (Device Initialization) makes blk_size only "the optimal sector size",
// so requests in 512-byte units must work whatever the host's logical block size is.
#pragma once

#include <cstdint>

#include "devices/virtio/blk/aligned_buffer.hpp"
#include "devices/virtio/blk/disk_image.hpp"
#include "devices/virtio/blk/io_engine.hpp"

namespace minivmm::virtio {

class BounceTransfer {
public:
    // The bounce buffer's size: the memory a guest can make one engine hold for bouncing, however
    // large its requests (up to seg_max descriptors of up to 4 GiB in total); larger requests are
    // moved one such window at a time.
    static constexpr std::size_t kBufferBytes = 1 << 20;

    explicit BounceTransfer(const DiskImage& image) : m_image(image) {}

    // Whether `io` (a read or a write) must be bounced: its offset, a segment's length or a
    // segment's address does not meet the image's O_DIRECT alignment. Never for buffered images.
    [[nodiscard]] bool needed(const BlkIo& io) const { return !m_image.is_aligned(io.iov, io.offset); }

    // Runs `io` to completion on the calling thread: 0 or -errno. Guest bytes are read and
    // written through io.memory's checked accessors over io.guest_ranges, never through io.iov; read
    // data reaches the guest after the host read completed, before run() returns.
    int run(const BlkIo& io);

    // Requests bounced so far (the zero-copy fast path is everything else).
    [[nodiscard]] std::uint64_t count() const { return m_count; }

private:
    const DiskImage& m_image;
    AlignedBuffer m_buffer; // allocated at the first bounce, then reused
    std::uint64_t m_count = 0;
};

} // namespace minivmm::virtio
