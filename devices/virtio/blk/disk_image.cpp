#include "devices/virtio/blk/disk_image.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
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

// O_DIRECT's alignment when the host does not say: 4096 is a multiple of every logical block
// size in common use (512-byte and 4Kn disks), so requests aligned to it are accepted by both.
constexpr std::uint32_t kFallbackDirectAlignment = 4096;
// virtio-v1.2 §5.2.4 (Device configuration layout): requests are in 512-byte units regardless.
constexpr std::uint32_t kMinDirectAlignment = 512;
// Linux drivers refuse a blk_size above the page size, and bounce windows must hold a block.
constexpr std::uint32_t kMaxDirectAlignment = 64 * 1024;

// The host's O_DIRECT rules for `fd`: statx(2) STATX_DIOALIGN where the kernel (6.1+) and the
// filesystem report it; else BLKSSZGET (the logical block size) for a block device; else
// kFallbackDirectAlignment. Values that are not powers of two in [512, 64 KiB] are not trusted.
DirectIoAlignment query_direct_alignment(int fd, bool block_device, const std::string& path)
{
    auto sane = [](std::uint32_t value) {
        return std::has_single_bit(value) && value <= kMaxDirectAlignment ? std::max(value, kMinDirectAlignment)
                                                                          : kFallbackDirectAlignment;
    };
    struct statx info {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &info) == 0 && (info.stx_mask & STATX_DIOALIGN) != 0
        && info.stx_dio_offset_align != 0 && info.stx_dio_mem_align != 0)
        return {sane(info.stx_dio_offset_align), sane(info.stx_dio_mem_align)};
    if (block_device) {
        int logical_block = 0;
        if (::ioctl(fd, BLKSSZGET, &logical_block) != 0)
            throw SysError(fmt::format("BLKSSZGET disk {}", path));
        const std::uint32_t size = sane(static_cast<std::uint32_t>(logical_block));
        return {size, size};
    }
    return {kFallbackDirectAlignment, kFallbackDirectAlignment};
}

std::uint64_t round_down(std::uint64_t value, std::uint64_t unit) { return value / unit * unit; }

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
    const DirectIoAlignment alignment = spec.cache == DiskCache::Direct
        ? query_direct_alignment(fd.get(), block_device, spec.path)
        : DirectIoAlignment{};
    return DiskImage(std::move(fd), size, spec.access, block_device, alignment);
}

bool DiskImage::is_aligned(std::span<const iovec> iov, std::uint64_t offset) const
{
    // O_DIRECT wants the offset and every segment's length in whole blocks and every segment's
    // address aligned in memory (open(2), "O_DIRECT"); a kernel that is laxer gains nothing here.
    if (offset % m_alignment.offset != 0)
        return false;
    return std::all_of(iov.begin(), iov.end(), [this](const iovec& part) {
        return reinterpret_cast<std::uintptr_t>(part.iov_base) % m_alignment.memory == 0
            && part.iov_len % m_alignment.offset == 0;
    });
}

AlignedBuffer DiskImage::make_bounce_buffer(std::size_t size) const
{
    // Page alignment at least: a multiple of both alignments, as they are powers of two <= 64 KiB.
    const std::size_t alignment = std::max<std::size_t>({4096, m_alignment.offset, m_alignment.memory});
    return AlignedBuffer(std::max<std::size_t>(size, alignment), alignment);
}

int DiskImage::read_through(std::uint64_t offset, std::uint64_t length, const AlignedBuffer& bounce,
    const BounceCopyOut& copy_out) const
{
    const std::uint64_t block = m_alignment.offset;
    if (offset > m_size || length > m_size - offset)
        return -EIO;
    const std::uint64_t end = offset + length;
    const std::uint64_t window_end = round_down(end + block - 1, block);
    if (window_end > m_size)
        return -EIO; // the image ends inside a block: O_DIRECT cannot reach that block whole
    for (std::uint64_t window = round_down(offset, block); window < end; window += bounce.size()) {
        const std::uint64_t window_bytes = std::min<std::uint64_t>(window_end - window, bounce.size());
        iovec whole{bounce.data(), static_cast<std::size_t>(window_bytes)};
        if (int result = read({&whole, 1}, window); result != 0)
            return result;
        const std::uint64_t first = std::max(offset, window);
        const std::uint64_t last = std::min(end, window + window_bytes);
        if (!copy_out(first - offset, {bounce.data() + (first - window), static_cast<std::size_t>(last - first)}))
            return -EFAULT;
    }
    return 0;
}

int DiskImage::write_through(std::uint64_t offset, std::uint64_t length, const AlignedBuffer& bounce,
    const BounceCopyIn& copy_in) const
{
    const std::uint64_t block = m_alignment.offset;
    if (offset > m_size || length > m_size - offset)
        return -EIO;
    const std::uint64_t end = offset + length;
    const std::uint64_t window_end = round_down(end + block - 1, block);
    if (window_end > m_size)
        return -EIO;
    for (std::uint64_t window = round_down(offset, block); window < end; window += bounce.size()) {
        const std::uint64_t window_bytes = std::min<std::uint64_t>(window_end - window, bounce.size());
        const std::uint64_t first = std::max(offset, window);
        const std::uint64_t last = std::min(end, window + window_bytes);
        // Read-modify-write: the request covers only part of the first or last block, whose other
        // bytes must survive. (Only the first and the last window can have such a block.)
        if (first != window) {
            iovec head{bounce.data(), static_cast<std::size_t>(block)};
            if (int result = read({&head, 1}, window); result != 0)
                return result;
        }
        if (last != window + window_bytes && (first == window || window_bytes > block)) {
            iovec tail{bounce.data() + window_bytes - block, static_cast<std::size_t>(block)};
            if (int result = read({&tail, 1}, window + window_bytes - block); result != 0)
                return result;
        }
        if (!copy_in(first - offset, {bounce.data() + (first - window), static_cast<std::size_t>(last - first)}))
            return -EFAULT;
        iovec whole{bounce.data(), static_cast<std::size_t>(window_bytes)};
        if (int result = write({&whole, 1}, window); result != 0)
            return result;
    }
    return 0;
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
    // Last resort: write zeroes (block devices without the fallocate modes), 64 KiB at a time
    // from an aligned buffer, so that an O_DIRECT image takes them too; edges of a range that is
    // not block-aligned are read-modify-written.
    const AlignedBuffer bounce = make_bounce_buffer(1 << 16);
    return write_through(offset, length, bounce, [](std::uint64_t, std::span<std::uint8_t> bytes) {
        std::memset(bytes.data(), 0, bytes.size());
        return true;
    });
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
