// The host clocks behind the limiter's Clock interface.
#include "vmm/limiter/clock.hpp"

#include <time.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::limiter {

namespace {

Nanos read_clock(clockid_t id, const char* name)
{
    timespec ts{};
    if (::clock_gettime(id, &ts) != 0)
        throw SysError(name);
    return std::chrono::seconds(ts.tv_sec) + Nanos(ts.tv_nsec);
}

} // namespace

Nanos MonotonicClock::now() const
{
    return read_clock(CLOCK_MONOTONIC, "clock_gettime CLOCK_MONOTONIC");
}

Nanos ThreadCpuClock::now() const
{
    return read_clock(CLOCK_THREAD_CPUTIME_ID, "clock_gettime CLOCK_THREAD_CPUTIME_ID");
}

} // namespace minivmm::limiter
