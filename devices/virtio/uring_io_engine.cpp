#include "devices/virtio/uring_io_engine.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "vmm/base/sys_error.hpp"

namespace minivmm::virtio {

UringIoEngine::UringIoEngine(const DiskImage& image, unsigned depth)
    : m_image(image), m_slots(depth), m_zeroing(depth), m_bounce(image)
{
    if (int result = io_uring_queue_init(depth, &m_ring, 0); result < 0)
        throw SysError("io_uring_queue_init for disk", -result);
    if (int result = io_uring_register_eventfd(&m_ring, m_event.fd()); result < 0) {
        io_uring_queue_exit(&m_ring);
        throw SysError("io_uring_register_eventfd for disk", -result);
    }
    for (std::size_t i = depth; i > 0; --i)
        m_free.push_back(i - 1);
}

UringIoEngine::~UringIoEngine()
{
    drain();
    io_uring_queue_exit(&m_ring);
}

void UringIoEngine::submit(BlkIo io)
{
    if ((io.op == BlkIo::Op::Read || io.op == BlkIo::Op::Write) && m_bounce.needed(io)) {
        // Synchronously, so that a read-modify-write of a shared block never races another one
        // in flight, and bounced data reaches the guest before any reset can drain: the rare path
        // (a driver that ignores blk_size or splits buffers) trades speed for that simplicity.
        const int result = m_bounce.run(io);
        m_bounced.push_back({std::move(io), result});
        return;
    }
    if (io.op == BlkIo::Op::WriteZeroes && !zeroing_is_aligned(io)) {
        // Sub-block zeroing on an O_DIRECT image: fallocate and an O_DIRECT write of zeroes both
        // refuse it; DiskImage::write_zeroes read-modify-writes the edge blocks, synchronously
        // for the same reason as bounced transfers.
        int result = 0;
        for (const auto& range : io.ranges)
            if (result == 0)
                result = m_image.write_zeroes(range.offset, range.length, range.mode);
        m_bounced.push_back({std::move(io), result});
        return;
    }
    // The device never submits more than capacity(), so a slot is free.
    const std::size_t slot = m_free.back();
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
    if (!sqe) {
        io_uring_submit(&m_ring);
        sqe = io_uring_get_sqe(&m_ring);
    }
    m_free.pop_back();
    m_slots[slot] = std::move(io);
    BlkIo& stored = *m_slots[slot];
    switch (stored.op) {
    case BlkIo::Op::Read:
        io_uring_prep_readv(sqe, m_image.fd(), stored.iov.data(), static_cast<unsigned>(stored.iov.size()), stored.offset);
        break;
    case BlkIo::Op::Write:
        io_uring_prep_writev(sqe, m_image.fd(), stored.iov.data(), static_cast<unsigned>(stored.iov.size()), stored.offset);
        break;
    case BlkIo::Op::Flush: io_uring_prep_fsync(sqe, m_image.fd(), IORING_FSYNC_DATASYNC); break;
    case BlkIo::Op::Discard:
    case BlkIo::Op::WriteZeroes:
        start_zeroing(slot);
        prep_zeroing_step(sqe, slot);
        break;
    }
    io_uring_sqe_set_data64(sqe, slot);
    ++m_in_flight;
}

bool UringIoEngine::zeroing_is_aligned(const BlkIo& io) const
{
    const std::uint64_t block = m_image.alignment().offset;
    return std::all_of(io.ranges.begin(), io.ranges.end(),
        [block](const BlkRange& range) { return range.offset % block == 0 && range.length % block == 0; });
}

void UringIoEngine::commit()
{
    io_uring_submit(&m_ring);
    m_looked_since_commit = false;
}

void UringIoEngine::collect(std::vector<BlkCompletion>& done, io_uring_cqe* cqe)
{
    const std::size_t slot = io_uring_cqe_get_data64(cqe);
    int zeroing_result = 0;
    if ((m_slots[slot]->op == BlkIo::Op::Discard || m_slots[slot]->op == BlkIo::Op::WriteZeroes)
        && advance_zeroing(slot, cqe->res, zeroing_result))
        return; // its next step is in flight
    BlkIo io = std::move(*m_slots[slot]);
    m_slots[slot].reset();
    m_free.push_back(slot);
    --m_in_flight;
    int result = cqe->res < 0 ? cqe->res : 0;
    if (io.op == BlkIo::Op::Discard || io.op == BlkIo::Op::WriteZeroes)
        result = zeroing_result;
    else if (cqe->res >= 0 && io.op != BlkIo::Op::Flush) {
        std::uint64_t expected = 0;
        for (const auto& part : io.iov)
            expected += part.iov_len;
        const auto moved = static_cast<std::uint64_t>(cqe->res);
        if (moved < expected) {
            // A short transfer: finish the rest synchronously (rare; e.g. a page-cache miss
            // split) rather than fail the guest's request.
            std::vector<iovec> rest;
            std::uint64_t skip = moved;
            for (const auto& part : io.iov) {
                if (skip >= part.iov_len) {
                    skip -= part.iov_len;
                    continue;
                }
                rest.push_back({static_cast<char*>(part.iov_base) + skip, part.iov_len - skip});
                skip = 0;
            }
            result = io.op == BlkIo::Op::Read ? m_image.read(rest, io.offset + moved)
                                              : m_image.write(rest, io.offset + moved);
        }
    }
    done.push_back({std::move(io), result});
}

std::vector<BlkCompletion> UringIoEngine::reap()
{
    // Never lose a wake-up: the eventfd is read only BEFORE the completion queue is looked at,
    // so a completion posted after the read signals it again and the loop wakes for it. The
    // look right after commit() does not read it at all: it is speculative (the kernel rarely
    // finishes a request within the submit call), and a read there found the counter at zero
    // on almost every batch (tools/bench/io_breakdown: ~2 EAGAIN reads per batch of 32). A
    // completion it does collect leaves its signal behind, which costs the loop one look that
    // finds nothing, never a lost or a spinning wake-up: the next reap() consumes the signal.
    if (m_looked_since_commit)
        (void)m_event.consume();
    m_looked_since_commit = true;
    std::vector<BlkCompletion> done = std::exchange(m_bounced, {});
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&m_ring, &cqe) == 0 && cqe) {
        collect(done, cqe);
        io_uring_cqe_seen(&m_ring, cqe);
    }
    return done;
}

void UringIoEngine::drain()
{
    m_draining = true;
    m_bounced.clear();
    io_uring_submit(&m_ring);
    std::vector<BlkCompletion> dropped;
    while (m_in_flight > 0) {
        io_uring_cqe* cqe = nullptr;
        const int result = io_uring_wait_cqe(&m_ring, &cqe);
        if (result == -EINTR)
            continue;
        if (result < 0)
            break; // the ring is unusable; nothing more will complete
        collect(dropped, cqe);
        io_uring_cqe_seen(&m_ring, cqe);
    }
    (void)m_event.consume();
    m_looked_since_commit = true; // nothing in flight, the eventfd reset: no look is owed
    m_draining = false;
}

} // namespace minivmm::virtio
