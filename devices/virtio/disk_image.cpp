#include "devices/virtio/disk_image.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::virtio {
namespace {

// Advances `iov` past `done` bytes (for short transfers).
std::vector<iovec> skip_bytes(std::span<const iovec> iov, std::size_t done)
{
    std::vector<iovec> rest;
    for (const auto& part : iov) {
        if (done >= part.iov_len) {
            done -= part.iov_len;
            continue;
        }
        rest.push_back({static_cast<char*>(part.iov_base) + done, part.iov_len - done});
        done = 0;
    }
    return rest;
}

template<typename Transfer>
int transfer_all(std::span<const iovec> iov, std::uint64_t offset, Transfer transfer)
{
    std::vector<iovec> rest(iov.begin(), iov.end());
    while (!rest.empty()) {
        const int count = static_cast<int>(std::min<std::size_t>(rest.size(), IOV_MAX));
        const ssize_t done = transfer(rest.data(), count, static_cast<off_t>(offset));
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (done == 0)
            return -EIO; // end of file inside the request
        offset += static_cast<std::uint64_t>(done);
        rest = skip_bytes(rest, static_cast<std::size_t>(done));
    }
    return 0;
}

} // namespace

DiskImage DiskImage::open(const DiskSpec& spec)
{
    int flags = O_CLOEXEC | (spec.access == DiskAccess::ReadOnly ? O_RDONLY : O_RDWR);
    if (spec.cache == DiskCache::Direct)
        flags |= O_DIRECT;
    UniqueFd fd(::open(spec.path.c_str(), flags));
    if (!fd)
        throw SysError(fmt::format("open disk {}", spec.path));
    // One writer or many readers: a second VMM cannot open a disk we write, nor write one we
    // read. flock locks follow the open file description, so this holds within one process too.
    const int lock = spec.access == DiskAccess::ReadOnly ? LOCK_SH : LOCK_EX;
    if (::flock(fd.get(), lock | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw UserError(fmt::format("disk {} is in use by another process (locked)", spec.path));
        throw SysError(fmt::format("flock disk {}", spec.path));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        throw SysError(fmt::format("fstat disk {}", spec.path));
    std::uint64_t size = 0;
    bool block_device = false;
    if (S_ISBLK(info.st_mode)) {
        if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0)
            throw SysError(fmt::format("BLKGETSIZE64 disk {}", spec.path));
        block_device = true;
    } else if (S_ISREG(info.st_mode)) {
        size = static_cast<std::uint64_t>(info.st_size);
    } else {
        throw UserError(fmt::format("disk {} is neither a regular file nor a block device", spec.path));
    }
    return DiskImage(std::move(fd), size, spec.access, block_device);
}

int DiskImage::read(std::span<const iovec> iov, std::uint64_t offset) const
{
    return transfer_all(iov, offset,
        [this](const iovec* v, int n, off_t at) { return ::preadv(m_fd.get(), v, n, at); });
}

int DiskImage::write(std::span<const iovec> iov, std::uint64_t offset) const
{
    return transfer_all(iov, offset,
        [this](const iovec* v, int n, off_t at) { return ::pwritev(m_fd.get(), v, n, at); });
}

int DiskImage::flush() const
{
    return ::fdatasync(m_fd.get()) == 0 ? 0 : -errno;
}

int DiskImage::discard(std::uint64_t offset, std::uint64_t length) const
{
    if (::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
            static_cast<off_t>(length)) != 0)
        return -errno;
    return 0;
}

int DiskImage::write_zeroes(std::uint64_t offset, std::uint64_t length, ZeroingMode mode) const
{
    const auto at = static_cast<off_t>(offset);
    const auto len = static_cast<off_t>(length);
    // Punching a hole reads back as zeroes; with the unmap flag the driver allows deallocation.
    if (mode == ZeroingMode::MayUnmap
        && ::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, len) == 0)
        return 0;
    if (::fallocate(m_fd.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, at, len) == 0)
        return 0;
    if (::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, len) == 0)
        return 0;
    // Last resort: write zeroes (block devices without the fallocate modes).
    static const std::vector<std::uint8_t> zeroes(1 << 16, 0);
    while (length > 0) {
        const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(length, zeroes.size()));
        iovec part{const_cast<std::uint8_t*>(zeroes.data()), chunk};
        if (int result = write({&part, 1}, offset); result != 0)
            return result;
        offset += chunk;
        length -= chunk;
    }
    return 0;
}

int DiskImage::grow(std::uint64_t new_size)
{
    if (m_block_device || new_size < m_size)
        return -EINVAL;
    if (::ftruncate(m_fd.get(), static_cast<off_t>(new_size)) != 0)
        return -errno;
    if (::fsync(m_fd.get()) != 0) {
        const int error = errno;
        (void)::ftruncate(m_fd.get(), static_cast<off_t>(m_size)); // back to what the guest knows
        return -error;
    }
    m_size = new_size;
    return 0;
}

} // namespace minivmm::virtio
