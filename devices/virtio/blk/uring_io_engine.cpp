#include "devices/virtio/blk/uring_io_engine.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "vmm/base/sys_error.hpp"

namespace minivmm::virtio {

UringIoEngine::UringIoEngine(const DiskImage& image, unsigned depth)
    : m_image(image), m_slots(depth), m_zeroing(depth), m_merged_iov(depth), m_followers(depth), m_bounce(image)
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
    m_free.pop_back();
    m_slots[slot] = std::move(io);
    ++m_in_flight;
    BlkIo& stored = *m_slots[slot];
    if (stored.op == BlkIo::Op::Read || stored.op == BlkIo::Op::Write) {
        m_pending.push_back(slot); // prepared at commit(), merged with its neighbours
        return;
    }
    // Anything else ends the run of transfers before it: they go first, in the order given.
    prep_pending();
    io_uring_sqe* sqe = next_sqe();
    if (stored.op == BlkIo::Op::Flush) {
        io_uring_prep_fsync(sqe, m_image.fd(), IORING_FSYNC_DATASYNC);
    } else {
        start_zeroing(slot);
        prep_zeroing_step(sqe, slot);
    }
    io_uring_sqe_set_data64(sqe, slot);
}

void UringIoEngine::prep_pending()
{
    // A run of reads (or writes) whose byte ranges follow each other goes to the kernel as one
    // readv/writev over all their buffers, as QEMU's virtio-blk does (virtio_blk_submit_multireq):
    // one SQE and one CQE instead of one each, and the run completes together, so a driver that
    // refills the ring per batch of completions gets whole batches back. Requests in flight
    // have no order among them (virtio-v1.2 §5.2.6.4), and each kept its own checks: merging
    // changes neither what is read or written nor where.
    for (std::size_t first = 0; first < m_pending.size();) {
        const std::size_t leader = m_pending[first];
        const BlkIo& head = *m_slots[leader];
        std::uint64_t end = head.offset + transfer_length(head.iov);
        std::size_t iov_count = head.iov.size();
        std::size_t next = first + 1;
        for (; next < m_pending.size(); ++next) {
            const BlkIo& io = *m_slots[m_pending[next]];
            const std::uint64_t length = transfer_length(io.iov);
            if (io.op != head.op || io.offset != end || iov_count + io.iov.size() > kMaxMergedIovecs
                || end + length - head.offset > kMaxMergedBytes)
                break;
            end += length;
            iov_count += io.iov.size();
        }
        std::vector<iovec>& merged = m_merged_iov[leader];
        merged.clear();
        m_followers[leader].assign(m_pending.begin() + static_cast<std::ptrdiff_t>(first) + 1,
            m_pending.begin() + static_cast<std::ptrdiff_t>(next));
        if (next - first > 1) {
            merged.reserve(iov_count);
            for (std::size_t i = first; i < next; ++i)
                for (const iovec& part : m_slots[m_pending[i]]->iov)
                    merged.push_back(part);
        }
        const std::vector<iovec>& iov = merged.empty() ? head.iov : merged;
        io_uring_sqe* sqe = next_sqe();
        if (head.op == BlkIo::Op::Read)
            io_uring_prep_readv(sqe, m_image.fd(), iov.data(), static_cast<unsigned>(iov.size()), head.offset);
        else
            io_uring_prep_writev(sqe, m_image.fd(), iov.data(), static_cast<unsigned>(iov.size()), head.offset);
        io_uring_sqe_set_data64(sqe, leader);
        ++m_transfer_sqes;
        first = next;
    }
    m_pending.clear();
}

bool UringIoEngine::zeroing_is_aligned(const BlkIo& io) const
{
    const std::uint64_t block = m_image.alignment().offset;
    return std::all_of(io.ranges.begin(), io.ranges.end(),
        [block](const BlkRange& range) { return range.offset % block == 0 && range.length % block == 0; });
}

void UringIoEngine::commit()
{
    prep_pending();
    io_uring_submit(&m_ring);
    m_looked_since_commit = false;
}

int UringIoEngine::finish_transfer(BlkIo::Op op, std::uint64_t offset, const std::vector<iovec>& iov, int res) const
{
    if (res < 0)
        return res;
    const auto moved = static_cast<std::uint64_t>(res);
    if (moved >= transfer_length(iov))
        return 0;
    // A short transfer: finish the rest synchronously (rare; e.g. a page-cache miss split)
    // rather than fail the guest's request.
    std::vector<iovec> rest;
    std::uint64_t skip = moved;
    for (const auto& part : iov) {
        if (skip >= part.iov_len) {
            skip -= part.iov_len;
            continue;
        }
        rest.push_back({static_cast<char*>(part.iov_base) + skip, part.iov_len - skip});
        skip = 0;
    }
    return op == BlkIo::Op::Read ? m_image.read(rest, offset + moved) : m_image.write(rest, offset + moved);
}

std::uint64_t UringIoEngine::transfer_length(const std::vector<iovec>& iov)
{
    std::uint64_t length = 0;
    for (const auto& part : iov)
        length += part.iov_len;
    return length;
}

void UringIoEngine::complete_slot(std::vector<BlkCompletion>& done, std::size_t slot, int result)
{
    BlkIo io = std::move(*m_slots[slot]);
    m_slots[slot].reset();
    m_free.push_back(slot);
    --m_in_flight;
    done.push_back({std::move(io), result});
}

void UringIoEngine::collect(std::vector<BlkCompletion>& done, io_uring_cqe* cqe)
{
    const std::size_t slot = io_uring_cqe_get_data64(cqe);
    const BlkIo::Op op = m_slots[slot]->op;
    if (op == BlkIo::Op::Discard || op == BlkIo::Op::WriteZeroes) {
        int zeroing_result = 0;
        if (advance_zeroing(slot, cqe->res, zeroing_result))
            return; // its next step is in flight
        complete_slot(done, slot, zeroing_result);
        return;
    }
    if (op == BlkIo::Op::Flush) {
        complete_slot(done, slot, cqe->res < 0 ? cqe->res : 0);
        return;
    }
    const BlkIo& head = *m_slots[slot];
    std::vector<iovec> merged = std::exchange(m_merged_iov[slot], {});
    std::vector<std::size_t> followers = std::exchange(m_followers[slot], {});
    int result = finish_transfer(op, head.offset, merged.empty() ? head.iov : merged, cqe->res);
    if (result < 0 && !followers.empty()) {
        // A merged run failed: find which of its requests fail by themselves, synchronously
        // (rare), so that one bad block fails only the request that covers it.
        for (const std::size_t member : followers) {
            const BlkIo& io = *m_slots[member];
            complete_slot(done, member, finish_transfer(op, io.offset, io.iov, 0));
        }
        result = finish_transfer(op, head.offset, head.iov, 0);
    } else {
        for (const std::size_t member : followers)
            complete_slot(done, member, result);
    }
    complete_slot(done, slot, result);
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
    prep_pending();
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
