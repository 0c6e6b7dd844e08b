// UringIoEngine, discard and write-zeroes (virtio-v1.2 §5.2.6 "Device Operation",
// VIRTIO_BLK_T_DISCARD / VIRTIO_BLK_T_WRITE_ZEROES): each range as IORING_OP_FALLOCATE, and for
// write-zeroes the same fallbacks as DiskImage::write_zeroes -- another fallocate mode, then
// IORING_OP_WRITE of zeroes -- so one request (up to 16 x 2 GiB) never blocks the event loop.
#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>

#include "devices/virtio/blk/uring_io_engine.hpp"

namespace minivmm::virtio {
namespace {

// Source of the zero-writing fallback: 1 MiB per write, page-aligned (O_DIRECT-safe), in .bss
// so untouched pages cost nothing. Never written.
alignas(4096) std::uint8_t g_zero_block[1 << 20];

} // namespace

UringIoEngine::ZeroingProgress::Step UringIoEngine::first_step(const BlkIo& io, const BlkRange& range)
{
    // Discard and write-zeroes-with-unmap punch a hole (reads back as zeroes); write-zeroes that
    // must stay allocated zeroes the range in place.
    if (io.op == BlkIo::Op::Discard || range.mode == ZeroingMode::MayUnmap)
        return ZeroingProgress::Step::PunchHole;
    return ZeroingProgress::Step::ZeroRange;
}

io_uring_sqe* UringIoEngine::next_sqe()
{
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
    if (!sqe) {
        io_uring_submit(&m_ring);
        sqe = io_uring_get_sqe(&m_ring);
    }
    return sqe;
}

void UringIoEngine::start_zeroing(std::size_t slot)
{
    const BlkIo& io = *m_slots[slot];
    m_zeroing[slot] = {};
    m_zeroing[slot].step = first_step(io, io.ranges.at(0)); // the device never sends none
}

void UringIoEngine::prep_zeroing_step(io_uring_sqe* sqe, std::size_t slot)
{
    using Step = ZeroingProgress::Step;
    const BlkIo& io = *m_slots[slot];
    const ZeroingProgress& progress = m_zeroing[slot];
    const BlkRange& range = io.ranges[progress.range];
    const auto offset = static_cast<off_t>(range.offset);
    const auto length = static_cast<off_t>(range.length);
    switch (progress.step) {
    case Step::PunchHole:
    case Step::PunchHoleFallback:
        io_uring_prep_fallocate(sqe, m_image.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
        break;
    case Step::ZeroRange:
        io_uring_prep_fallocate(sqe, m_image.fd(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
        break;
    case Step::WriteZeroes: {
        const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(range.length - progress.written, sizeof g_zero_block));
        io_uring_prep_write(sqe, m_image.fd(), g_zero_block, chunk, range.offset + progress.written);
        break;
    }
    }
    io_uring_sqe_set_data64(sqe, slot);
}

bool UringIoEngine::advance_zeroing(std::size_t slot, int res, int& result)
{
    using Step = ZeroingProgress::Step;
    const BlkIo& io = *m_slots[slot];
    ZeroingProgress& progress = m_zeroing[slot];
    const BlkRange& range = io.ranges[progress.range];
    bool range_done = false;
    if (progress.step == Step::WriteZeroes) {
        if (res <= 0) {
            result = res < 0 ? res : -EIO; // no progress: the disk is full or gone
            return false;
        }
        progress.written += static_cast<std::uint64_t>(res);
        range_done = progress.written >= range.length;
    } else if (res == 0) {
        range_done = true;
    } else if (io.op == BlkIo::Op::Discard) {
        result = res; // the device answers UNSUPP for "cannot punch holes", IOERR otherwise
        return false;
    } else {
        // Write-zeroes: this fallocate mode cannot; try the next way, ending with writing zeroes
        // (block devices and file systems without the fallocate modes).
        switch (progress.step) {
        case Step::PunchHole:
            progress.step = Step::ZeroRange;
            break;
        case Step::ZeroRange:
            progress.step = range.mode == ZeroingMode::MayUnmap ? Step::WriteZeroes : Step::PunchHoleFallback;
            break;
        case Step::PunchHoleFallback:
        case Step::WriteZeroes:
            progress.step = Step::WriteZeroes;
            break;
        }
    }
    if (range_done) {
        if (++progress.range == io.ranges.size()) {
            result = 0;
            return false;
        }
        progress.step = first_step(io, io.ranges[progress.range]);
        progress.written = 0;
    }
    if (m_draining) {
        // Device reset: the request is abandoned (no guest memory is involved in zeroing).
        result = -ECANCELED;
        return false;
    }
    io_uring_sqe* sqe = next_sqe();
    if (!sqe) {
        result = -EAGAIN;
        return false;
    }
    prep_zeroing_step(sqe, slot);
    io_uring_submit(&m_ring);
    return true;
}

} // namespace minivmm::virtio
