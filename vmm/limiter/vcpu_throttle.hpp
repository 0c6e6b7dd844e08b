// VcpuThrottle: what a throttled vCPU thread calls around KVM_RUN to keep to its CpuBudget
// (DESIGN.md, "Resource limiter", CPU enforcement). Sleeping and the budget timer are injected
// so tests run on manual clocks; the real ones are MonotonicSleeper and ThreadCpuTimer.
//
// Use (vCPU thread, only for a vCPU whose VcpuShare::throttled(); an unthrottled vCPU has no
// VcpuThrottle at all and so pays nothing per run):
//     std::optional<VcpuThrottle> throttle;  // emplaced on the vCPU thread
//     for (;;) {
//         if (throttle && throttle->before_run() == RunDecision::Interrupted)
//             continue;                         // a signal: check pause/stop, then try again
//         ioctl(KVM_RUN);                       // EINTR when the budget timer fired
//         if (throttle) throttle->after_run();
//         ...handle the exit...
//     }
#pragma once

#include <cstdint>

#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/cpu_budget.hpp"

namespace minivmm::limiter {

// Sleeps until an absolute time of the wall clock the throttle was given.
class Sleeper {
public:
    virtual ~Sleeper() = default;
    // false when a signal cut the sleep short (pause or stop wants the thread).
    virtual bool sleep_until(Nanos wall_deadline) = 0;
};

// A one-shot timer on the vCPU thread's CPU time whose expiry forces KVM_RUN out.
class BudgetTimer {
public:
    virtual ~BudgetTimer() = default;
    // Fires once the thread has used `cpu_time` more CPU time; replaces any earlier arming.
    virtual void arm(Nanos cpu_time) = 0;
};

enum class RunDecision {
    Run,         // enter KVM_RUN now
    Interrupted, // the sleep to the period's end was cut short by a signal; call again later
};

class VcpuThrottle {
public:
    // `share` and `period` from CpuAllocation; `wall` is CLOCK_MONOTONIC (periods) and
    // `thread_cpu` CLOCK_THREAD_CPUTIME_ID (use) in production. Neither clock is read here, so
    // the throttle may be built on any thread; it must be used on the vCPU thread only.
    VcpuThrottle(double share, Nanos period, const Clock& wall, const Clock& thread_cpu,
                 Sleeper& sleeper, BudgetTimer& timer);

    // Charges the CPU time used since the last call, sleeps to the period's end when the
    // budget is spent, and (re-)arms the timer with the budget left whenever a new period began.
    RunDecision before_run();
    // Charges the CPU time used since the last call (the KVM_RUN just done).
    void after_run();

    // Wall time spent sleeping for the budget, for the report.
    [[nodiscard]] Nanos throttled_time() const { return m_throttled; }
    // CPU time charged so far (all of the thread's CPU time, exit handling included).
    [[nodiscard]] Nanos cpu_used() const { return m_cpu_used; }
    [[nodiscard]] const CpuBudget& budget() const { return m_budget; }

private:
    void charge_cpu();

    const Clock& m_wall;
    const Clock& m_thread_cpu;
    Sleeper& m_sleeper;
    BudgetTimer& m_timer;
    double m_share;
    Nanos m_period;
    CpuBudget m_budget;
    bool m_started = false;
    Nanos m_last_cpu{0};
    Nanos m_cpu_used{0};
    Nanos m_throttled{0};
    std::uint64_t m_armed_period = UINT64_MAX; // the period whose budget the timer holds
};

} // namespace minivmm::limiter
