// DiskImage: the host side of a virtio-blk disk: an open raw file or block device, its size,
// an exclusive lock against a second writer, and the blocking operations behind each request
// type (virtio-v1.2 §5.2.6 "Device Operation"). Host failures at open are SysError/UserError;
// failures of a guest's request are returned as -errno for the device to answer IOERR/UNSUPP.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <span>

#include "devices/virtio/blk/aligned_buffer.hpp"
#include "devices/virtio/blk/disk_spec.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::virtio {

enum class ZeroingMode { KeepAllocated, MayUnmap };

// What a transfer must meet to go straight to the fd (statx(2), STATX_DIOALIGN): file offsets and
// lengths are multiples of `offset`, buffer addresses multiples of `memory`. Both 1 when the
// image is buffered; for direct=on they are the host's, never below 512.
struct DirectIoAlignment {
    std::uint32_t offset = 1;
    std::uint32_t memory = 1;
    bool operator==(const DirectIoAlignment&) const = default;
};

// Moves request bytes [at, at + bytes.size()) out of / into a bounce buffer; false on failure.
using BounceCopyOut = std::function<bool(std::uint64_t at, std::span<const std::uint8_t> bytes)>;
using BounceCopyIn = std::function<bool(std::uint64_t at, std::span<std::uint8_t> bytes)>;

class DiskImage {
public:
    // Opens spec.path (O_RDONLY for readonly=on, O_DIRECT for direct=on) and locks it:
    // LOCK_EX for a writable image, LOCK_SH for a read-only one, never blocking. Throws
    // UserError "disk X is in use by another process (locked)" when another holder exists.
    // For direct=on it also learns the host's O_DIRECT alignment (see query_direct_alignment).
    static DiskImage open(const DiskSpec& spec);

    [[nodiscard]] int fd() const { return m_fd.get(); }
    [[nodiscard]] std::uint64_t size_bytes() const { return m_size; }
    [[nodiscard]] DiskAccess access() const { return m_access; }
    [[nodiscard]] bool is_block_device() const { return m_block_device; }
    [[nodiscard]] const DirectIoAlignment& alignment() const { return m_alignment; }
    // Whether a transfer of `iov` at `offset` meets alignment(), i.e. can go straight to the fd.
    [[nodiscard]] bool is_aligned(std::span<const iovec> iov, std::uint64_t offset) const;
    // A buffer for read_through/write_through: at least `size` bytes, address and size aligned.
    [[nodiscard]] AlignedBuffer make_bounce_buffer(std::size_t size) const;

    // Each returns 0 or -errno. Reads and writes loop over short transfers; reading past the
    // end of the file is -EIO.
    int read(std::span<const iovec> iov, std::uint64_t offset) const;
    int write(std::span<const iovec> iov, std::uint64_t offset) const;
    int flush() const; // fdatasync(2): returns once the data is durable
    int discard(std::uint64_t offset, std::uint64_t length) const;
    int write_zeroes(std::uint64_t offset, std::uint64_t length, ZeroingMode mode) const;
    // Transfers of [offset, offset + length) of any alignment, through `bounce` (from
    // make_bounce_buffer) one bounce-sized, block-aligned window at a time. A write that starts
    // or ends inside a block reads that block first (read-modify-write). Returns 0, -errno, -EIO
    // for a window past the end of the image, or -EFAULT when a copy fails.
    int read_through(std::uint64_t offset, std::uint64_t length, const AlignedBuffer& bounce,
        const BounceCopyOut& copy_out) const;
    int write_through(std::uint64_t offset, std::uint64_t length, const AlignedBuffer& bounce,
        const BounceCopyIn& copy_in) const;
    // Grows a regular file to `new_size` bytes (ftruncate: the new space is a hole, as
    // `minivmm disk resize` does) and fsyncs it so the size survives a host crash. Only ever
    // grows: the caller refuses a shrink. Returns 0 or -errno; the size is unchanged on error.
    int grow(std::uint64_t new_size);

private:
    DiskImage(UniqueFd fd, std::uint64_t size, DiskAccess access, bool block_device, DirectIoAlignment alignment)
        : m_fd(std::move(fd)), m_size(size), m_access(access), m_block_device(block_device), m_alignment(alignment)
    {
    }
    UniqueFd m_fd;
    std::uint64_t m_size;
    DiskAccess m_access;
    bool m_block_device;
    DirectIoAlignment m_alignment;
};

} // namespace minivmm::virtio
