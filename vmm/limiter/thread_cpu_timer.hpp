// ThreadCpuTimer: the real BudgetTimer, a POSIX timer on the vCPU thread's own CPU-time clock
// that sends a real-time signal to that thread so a guest spinning without exits still leaves
// KVM_RUN (DESIGN.md, "Resource limiter", CPU).
//
// Why CLOCK_THREAD_CPUTIME_ID and not CLOCK_MONOTONIC: the budget is CPU time, so a timer on the
// thread's CPU clock expires exactly when the budget is used up, however often the host
// scheduler preempts the thread or the guest halts; a monotonic timer would fire early whenever
// the thread did not get the CPU and cause needless exits. The kernel checks CPU-time timers on
// its scheduler tick, so expiry can be late by up to one tick (1-4 ms); CpuBudget carries that
// overshoot as debt into the next period.
//
// The integrator chooses the signal (e.g. SIGRTMIN + 1) and installs a handler that does
// nothing, without SA_RESTART, so the ioctl returns EINTR; the signal must not be blocked in
// the vCPU thread while it is in KVM_RUN.
#pragma once

#include <time.h>

#include "vmm/limiter/vcpu_throttle.hpp"

namespace minivmm::limiter {

class ThreadCpuTimer final : public BudgetTimer {
public:
    // Must be constructed on the vCPU thread: both the clock and the signal's target are the
    // calling thread. Throws SysError.
    explicit ThreadCpuTimer(int signal_number);
    ~ThreadCpuTimer() override;
    ThreadCpuTimer(const ThreadCpuTimer&) = delete;
    ThreadCpuTimer& operator=(const ThreadCpuTimer&) = delete;

    // A zero amount fires at once (at the next tick): the budget is already spent.
    void arm(Nanos cpu_time) override;

private:
    timer_t m_timer{};
};

// The real Sleeper: clock_nanosleep on CLOCK_MONOTONIC to an absolute deadline (so a repeated
// call after a signal does not drift).
class MonotonicSleeper final : public Sleeper {
public:
    bool sleep_until(Nanos wall_deadline) override;
};

} // namespace minivmm::limiter
