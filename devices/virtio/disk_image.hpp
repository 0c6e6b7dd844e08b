// DiskImage: the host side of a virtio-blk disk: an open raw file or block device, its size,
// an exclusive lock against a second writer, and the blocking operations behind each request
// type (virtio-v1.2 §5.2.6 "Device Operation"). Host failures at open are SysError/UserError;
// failures of a guest's request are returned as -errno for the device to answer IOERR/UNSUPP.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "devices/virtio/disk_spec.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::virtio {

enum class ZeroingMode { KeepAllocated, MayUnmap };

class DiskImage {
public:
    // Opens spec.path (O_RDONLY for readonly=on, O_DIRECT for direct=on) and locks it:
    // LOCK_EX for a writable image, LOCK_SH for a read-only one, never blocking. Throws
    // UserError "disk X is in use by another process (locked)" when another holder exists.
    static DiskImage open(const DiskSpec& spec);

    [[nodiscard]] int fd() const { return m_fd.get(); }
    [[nodiscard]] std::uint64_t size_bytes() const { return m_size; }
    [[nodiscard]] DiskAccess access() const { return m_access; }
    [[nodiscard]] bool is_block_device() const { return m_block_device; }

    // Each returns 0 or -errno. Reads and writes loop over short transfers; reading past the
    // end of the file is -EIO.
    int read(std::span<const iovec> iov, std::uint64_t offset) const;
    int write(std::span<const iovec> iov, std::uint64_t offset) const;
    int flush() const; // fdatasync(2): returns once the data is durable
    int discard(std::uint64_t offset, std::uint64_t length) const;
    int write_zeroes(std::uint64_t offset, std::uint64_t length, ZeroingMode mode) const;
    // Grows a regular file to `new_size` bytes (ftruncate: the new space is a hole, as
    // `minivmm disk resize` does) and fsyncs it so the size survives a host crash. Only ever
    // grows: the caller refuses a shrink. Returns 0 or -errno; the size is unchanged on error.
    int grow(std::uint64_t new_size);

private:
    DiskImage(UniqueFd fd, std::uint64_t size, DiskAccess access, bool block_device)
        : m_fd(std::move(fd)), m_size(size), m_access(access), m_block_device(block_device)
    {
    }
    UniqueFd m_fd;
    std::uint64_t m_size;
    DiskAccess m_access;
    bool m_block_device;
};

} // namespace minivmm::virtio
