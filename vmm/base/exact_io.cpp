// pread_exact / pwrite_exact (exact_io.hpp).
#include "vmm/base/exact_io.hpp"

#include <sys/uio.h>

#include <cerrno>

namespace minivmm {

int pread_exact(int fd, std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < length) {
        const iovec part {buffer + done, length - done};
        const ssize_t n = ::preadv(fd, &part, 1, static_cast<off_t>(offset + done));
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

int pwrite_exact(int fd, const std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < length) {
        const iovec part {const_cast<std::uint8_t*>(buffer + done), length - done};
        const ssize_t n = ::pwritev(fd, &part, 1, static_cast<off_t>(offset + done));
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

} // namespace minivmm
