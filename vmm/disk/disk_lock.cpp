// lock_disk_exclusive: non-blocking exclusive flock with a clear "in use" error.
#include "vmm/disk/disk_lock.hpp"

#include <sys/file.h>

#include <cerrno>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::disk {

void lock_disk_exclusive(int fd, std::string_view path)
{
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            throw UserError(fmt::format("disk {} is in use by a running VM; stop the VM (or "
                                        "snapshot it) and try again",
                                        path));
        throw SysError(fmt::format("flock {}", path));
    }
}

} // namespace minivmm::disk
