// ThreadCpuTimer and MonotonicSleeper: the host side of vCPU throttling.
#include "vmm/limiter/thread_cpu_timer.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "vmm/base/sys_error.hpp"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

namespace minivmm::limiter {

namespace {

timespec to_timespec(Nanos value)
{
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(value.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(value.count() % 1'000'000'000);
    return ts;
}

} // namespace

ThreadCpuTimer::ThreadCpuTimer(int signal_number)
{
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signal_number;
    event.sigev_notify_thread_id = static_cast<pid_t>(::syscall(SYS_gettid));
    if (::timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &m_timer) != 0)
        throw SysError("timer_create CLOCK_THREAD_CPUTIME_ID");
}

ThreadCpuTimer::~ThreadCpuTimer()
{
    ::timer_delete(m_timer);
}

void ThreadCpuTimer::arm(Nanos cpu_time)
{
    itimerspec spec{};
    // it_value all zero would disarm the timer; the smallest non-zero value fires at once.
    spec.it_value = to_timespec(cpu_time.count() > 0 ? cpu_time : Nanos(1));
    if (::timer_settime(m_timer, 0, &spec, nullptr) != 0)
        throw SysError("timer_settime");
}

bool MonotonicSleeper::sleep_until(Nanos wall_deadline)
{
    const timespec deadline = to_timespec(wall_deadline);
    const int error = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr);
    if (error == EINTR)
        return false;
    if (error != 0)
        throw SysError("clock_nanosleep", error);
    return true;
}

} // namespace minivmm::limiter
