// Closing inherited file descriptors at start (inherited_fds.hpp).
#include "vmm/sandbox/inherited_fds.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace minivmm::sandbox {

void close_inherited_fds() noexcept
{
    constexpr unsigned kFirst = 3;
    if (::syscall(SYS_close_range, kFirst, ~0u, 0) == 0)
        return;
    // Older kernels: every number up to the descriptor limit (no /proc needed).
    rlimit limit {};
    rlim_t last = 1024;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        last = limit.rlim_cur;
    for (rlim_t fd = kFirst; fd < last; ++fd)
        ::close(static_cast<int>(fd));
}

} // namespace minivmm::sandbox
