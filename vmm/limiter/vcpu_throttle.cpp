// VcpuThrottle: budget checks, period-end sleeps and budget-timer arming around KVM_RUN.
#include "vmm/limiter/vcpu_throttle.hpp"

namespace minivmm::limiter {

VcpuThrottle::VcpuThrottle(double share, Nanos period, const Clock& wall, const Clock& thread_cpu,
                           Sleeper& sleeper, BudgetTimer& timer)
    : m_wall(wall)
    , m_thread_cpu(thread_cpu)
    , m_sleeper(sleeper)
    , m_timer(timer)
    , m_share(share)
    , m_period(period)
    , m_budget(share, period, Nanos(0))
{
}

void VcpuThrottle::charge_cpu()
{
    const Nanos now = m_thread_cpu.now();
    const Nanos used = now - m_last_cpu;
    m_last_cpu = now;
    m_budget.charge(used);
    m_cpu_used += used;
}

RunDecision VcpuThrottle::before_run()
{
    if (!m_started) {
        // The first period starts at the first run, on the vCPU thread whose clock we read.
        m_started = true;
        m_budget = CpuBudget(m_share, m_period, m_wall.now());
        m_last_cpu = m_thread_cpu.now();
    } else {
        charge_cpu();
    }

    Nanos now = m_wall.now();
    m_budget.advance_to(now);
    // A loop, not an if: a large overshoot can leave debt above a whole period's budget.
    while (m_budget.exhausted()) {
        const bool slept = m_sleeper.sleep_until(m_budget.period_end());
        const Nanos woke = m_wall.now();
        m_throttled += woke - now;
        now = woke;
        m_budget.advance_to(now);
        if (!slept)
            return RunDecision::Interrupted;
    }

    // The timer counts the thread's CPU time from arming, and every bit of that time is charged,
    // so within one period it still fires exactly when the budget runs out: re-arm only when a
    // new period has refilled the budget.
    if (m_armed_period != m_budget.period_index()) {
        m_timer.arm(m_budget.remaining());
        m_armed_period = m_budget.period_index();
    }
    return RunDecision::Run;
}

void VcpuThrottle::after_run()
{
    if (m_started)
        charge_cpu();
}

} // namespace minivmm::limiter
