// UringIoEngine: virtio-blk transfers through io_uring: one io_uring_submit per notification
// batch, runs of adjacent reads (or writes) in a batch merged into one readv/writev,
// completions announced on an eventfd registered with the ring (the event loop watches it);
// in-flight requests keep their chain until their completion is reaped. Discard and
// write-zeroes run as IORING_OP_FALLOCATE (and IORING_OP_WRITE of zeroes where fallocate cannot),
// one step in flight per request, the next submitted from the previous one's completion. Reads
// and writes that O_DIRECT cannot take as they are run synchronously through a BounceTransfer.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "devices/virtio/blk/bounce_transfer.hpp"
#include "devices/virtio/blk/disk_image.hpp"
#include "devices/virtio/blk/io_engine.hpp"
#include "vmm/base/event_fd.hpp"

namespace minivmm::virtio {

class UringIoEngine final : public IoEngine {
public:
    // Throws SysError when io_uring cannot be set up.
    UringIoEngine(const DiskImage& image, unsigned depth);
    ~UringIoEngine() override;
    UringIoEngine(const UringIoEngine&) = delete;
    UringIoEngine& operator=(const UringIoEngine&) = delete;

    void submit(BlkIo io) override;
    void commit() override;
    std::vector<BlkCompletion> reap() override;
    std::size_t in_flight() const override { return m_in_flight; }
    std::size_t capacity() const override { return m_slots.size(); }
    int event_fd() const override { return m_event.fd(); }
    void drain() override;
    [[nodiscard]] const BounceTransfer& bounce() const { return m_bounce; }
    // Reads and writes sent to the kernel so far: fewer than submitted when runs of adjacent
    // ones were merged into one readv/writev.
    [[nodiscard]] std::uint64_t transfer_sqes() const { return m_transfer_sqes; }

    // A merged readv/writev takes at most this many buffers (the kernel's UIO_MAXIOV) and bytes:
    // the cap bounds the synchronous rest of a rare short transfer, which runs on the event loop.
    static constexpr std::size_t kMaxMergedIovecs = 1024;
    static constexpr std::uint64_t kMaxMergedBytes = 16 << 20;

private:
    // Where a Discard / WriteZeroes request stands (uring_io_engine_zeroing.cpp).
    struct ZeroingProgress {
        enum class Step { PunchHole, ZeroRange, PunchHoleFallback, WriteZeroes };
        std::size_t range = 0;      // index into BlkIo::ranges
        Step step = Step::PunchHole;
        std::uint64_t written = 0;  // WriteZeroes: bytes of the range done
    };

    // Prepares the reads and writes submitted since the last call, adjacent ones merged.
    void prep_pending();
    static std::uint64_t transfer_length(const std::vector<iovec>& iov);
    // 0 or -errno for a transfer of `iov` at `offset` whose CQE said `res`; a short one is
    // finished synchronously.
    int finish_transfer(BlkIo::Op op, std::uint64_t offset, const std::vector<iovec>& iov, int res) const;
    void complete_slot(std::vector<BlkCompletion>& done, std::size_t slot, int result);
    void collect(std::vector<BlkCompletion>& done, io_uring_cqe* cqe);
    // Whether every range of a WriteZeroes is whole blocks of the image's O_DIRECT alignment.
    [[nodiscard]] bool zeroing_is_aligned(const BlkIo& io) const;
    static ZeroingProgress::Step first_step(const BlkIo& io, const BlkRange& range);
    io_uring_sqe* next_sqe();
    void start_zeroing(std::size_t slot);
    void prep_zeroing_step(io_uring_sqe* sqe, std::size_t slot);
    // Takes the completion of a zeroing step; true when a next step was submitted, false when
    // the request is finished with `result` (0 or -errno).
    bool advance_zeroing(std::size_t slot, int res, int& result);

    const DiskImage& m_image;
    io_uring m_ring{};
    EventFd m_event;
    std::vector<std::optional<BlkIo>> m_slots; // user_data = slot index
    std::vector<std::size_t> m_free;
    std::vector<ZeroingProgress> m_zeroing; // per slot, for Discard / WriteZeroes
    std::vector<std::size_t> m_pending;     // reads and writes not prepared yet, in order
    // Per slot that leads a merged transfer: the buffers of the whole run, and the slots of the
    // requests after its own (their completion is the leader's CQE). Empty otherwise.
    std::vector<std::vector<iovec>> m_merged_iov;
    std::vector<std::vector<std::size_t>> m_followers;
    std::uint64_t m_transfer_sqes = 0;
    bool m_draining = false;                // drain(): zeroing requests stop at their current step
    // False from commit() until the next reap(): that reap is the speculative look after a
    // submit and leaves the eventfd alone (see reap()).
    bool m_looked_since_commit = true;
    std::size_t m_in_flight = 0;
    BounceTransfer m_bounce;
    std::vector<BlkCompletion> m_bounced; // finished in submit(), handed out by the next reap()
};

} // namespace minivmm::virtio
