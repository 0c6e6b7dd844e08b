// IoEngine: how a virtio-blk device runs its data transfers, flushes, discards and write-zeroes
// on the host: `sync` (blocking preadv/pwritev/fdatasync/fallocate on the event-loop thread) or
// `uring` (io_uring, completions signalled through an eventfd the event loop watches).
// virtio-v1.2 §5.2.6 "Device Operation".
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "devices/virtio/blk/disk_image.hpp"
#include "devices/virtio/queue/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

// One byte range of a discard or write-zeroes request (virtio-v1.2 §5.2.6, struct
// virtio_blk_discard_write_zeroes), already checked to lie on the disk.
struct BlkRange {
    std::uint64_t offset;
    std::uint64_t length;
    ZeroingMode mode; // write-zeroes only: whether the range may be deallocated
};

struct BlkIo {
    enum class Op { Read, Write, Flush, Discard, WriteZeroes };
    Op op;
    std::uint16_t head;            // chain to return when done
    std::uint64_t offset;          // bytes into the disk
    // Host addresses of guest buffers. An exception to "no raw pointer past one access": they
    // live until completion; guest RAM outlives the device and reset() drains first.
    std::vector<iovec> iov;
    std::uint64_t status_address;  // guest address of the status byte
    std::uint32_t used_length;     // bytes written into the chain when the request succeeds
    // Discard / WriteZeroes: the ranges, done in order; the request fails at the first failure.
    // Write-zeroes falls back from fallocate modes to writing zeroes, as DiskImage::write_zeroes.
    std::vector<BlkRange> ranges = {};
    // Read / Write: the data buffers (`iov`) as guest ranges, and the memory they are in, for a
    // transfer that must be bounced (BounceTransfer): it copies only through GuestMemory's
    // checked accessors.
    std::vector<GuestRange> guest_ranges = {};
    const GuestMemory* memory = nullptr;
};

struct BlkCompletion {
    BlkIo io;
    int result; // 0 or -errno
};

class IoEngine {
public:
    virtual ~IoEngine() = default;
    // Starts `io` (the sync engine finishes it before returning).
    virtual void submit(BlkIo io) = 0;
    // Ends a batch: pushes everything submitted since the last commit to the kernel at once.
    virtual void commit() = 0;
    // Finished requests since the last reap. Called in two places, which an engine with an
    // event_fd() tells apart: right after commit() (a speculative look that leaves event_fd()
    // as it is, so whatever it does not hand out still wakes the loop) and when the loop finds
    // event_fd() readable, with no commit() in between (it resets event_fd() BEFORE looking:
    // a completion posted after the reset signals it again, and a loop that keeps calling
    // reap() on a readable event_fd() never spins).
    virtual std::vector<BlkCompletion> reap() = 0;
    [[nodiscard]] virtual std::size_t in_flight() const = 0;
    [[nodiscard]] virtual std::size_t capacity() const = 0;
    // The fd the event loop watches for completions; -1 when completions are immediate.
    [[nodiscard]] virtual int event_fd() const { return -1; }
    // Waits for every in-flight request and forgets them (device reset).
    virtual void drain() = 0;
};

} // namespace minivmm::virtio
