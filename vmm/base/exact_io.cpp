// pread_exact / pwrite_exact (exact_io.hpp).
#include "vmm/base/exact_io.hpp"

#include <sys/uio.h>

#include <cerrno>

namespace minivmm {

namespace {

// The loop both share: `transfer` (preadv or pwritev) of one iovec until `length` bytes moved,
// EINTR retried, a call that moves nothing an -EIO.
int transfer_exact(ssize_t (*transfer)(int, const iovec*, int, off_t), int fd, std::uint8_t* buffer,
    std::size_t length, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < length) {
        const iovec part {buffer + done, length - done};
        const ssize_t n = transfer(fd, &part, 1, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

} // namespace

int pread_exact(int fd, std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    return transfer_exact(::preadv, fd, buffer, length, offset);
}

int pwrite_exact(int fd, const std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    // pwritev only reads the buffer; iovec has no const member to say so.
    return transfer_exact(::pwritev, fd, const_cast<std::uint8_t*>(buffer), length, offset);
}

} // namespace minivmm
