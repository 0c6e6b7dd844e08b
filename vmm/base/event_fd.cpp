#include "vmm/base/event_fd.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

EventFd::EventFd(unsigned initial) : m_fd(::eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC))
{
    if (!m_fd)
        throw SysError("eventfd");
}

void EventFd::signal(std::uint64_t value) const
{
    // A full counter (EAGAIN) still wakes the reader, which is all a signal promises.
    while (::write(m_fd.get(), &value, sizeof value) < 0 && errno == EINTR) {
    }
}

std::uint64_t EventFd::consume() const
{
    std::uint64_t value = 0;
    ssize_t n;
    do {
        n = ::read(m_fd.get(), &value, sizeof value);
    } while (n < 0 && errno == EINTR);
    return n == sizeof value ? value : 0;
}

} // namespace minivmm
