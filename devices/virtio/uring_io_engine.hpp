// UringIoEngine: virtio-blk transfers through io_uring: one io_uring_submit per notification
// batch, completions announced on an eventfd registered with the ring (the event loop watches
// it); in-flight requests keep their chain until their completion is reaped. Discard and
// write-zeroes run as IORING_OP_FALLOCATE (and IORING_OP_WRITE of zeroes where fallocate cannot),
// one step in flight per request, the next submitted from the previous one's completion. Reads
// and writes that O_DIRECT cannot take as they are run synchronously through a BounceTransfer.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "devices/virtio/bounce_transfer.hpp"
#include "devices/virtio/disk_image.hpp"
#include "devices/virtio/io_engine.hpp"
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

private:
    // Where a Discard / WriteZeroes request stands (uring_io_engine_zeroing.cpp).
    struct ZeroingProgress {
        enum class Step { PunchHole, ZeroRange, PunchHoleFallback, WriteZeroes };
        std::size_t range = 0;      // index into BlkIo::ranges
        Step step = Step::PunchHole;
        std::uint64_t written = 0;  // WriteZeroes: bytes of the range done
    };

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
    bool m_draining = false;                // drain(): zeroing requests stop at their current step
    // False from commit() until the next reap(): that reap is the speculative look after a
    // submit and leaves the eventfd alone (see reap()).
    bool m_looked_since_commit = true;
    std::size_t m_in_flight = 0;
    BounceTransfer m_bounce;
    std::vector<BlkCompletion> m_bounced; // finished in submit(), handed out by the next reap()
};

} // namespace minivmm::virtio
