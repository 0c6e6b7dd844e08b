// CpuBudget: the per-period CPU-time account of one throttled vCPU (DESIGN.md, "Resource
// limiter", CPU: budget = S_schedule,j * period, charged with the thread's CPU time).
// Pure bookkeeping: wall time and CPU time are passed in, so tests drive it with numbers.
#pragma once

#include <cstdint>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

class CpuBudget {
public:
    // `share` in (0, 1]: the part of one host CPU allowed; periods of `period` wall time start
    // at `start` and follow each other back to back (a fixed grid, so a late wake-up does not
    // shift later periods).
    CpuBudget(double share, Nanos period, Nanos start);

    // Moves to the period containing wall time `now` (no-op when still in the current one).
    // Rolling k periods forgives k budgets of use: an overshoot beyond the budget (the timer
    // fires a little late) is carried as debt into the next period so the long-run average
    // stays at the share, while unused budget is never saved up for later.
    void advance_to(Nanos now);
    // Adds `cpu_time` of use to the current period.
    void charge(Nanos cpu_time);

    [[nodiscard]] Nanos budget() const { return m_budget; }
    [[nodiscard]] Nanos used() const { return m_used; }
    // Budget left in the current period; zero once spent (never negative).
    [[nodiscard]] Nanos remaining() const;
    [[nodiscard]] bool exhausted() const { return m_used >= m_budget; }
    [[nodiscard]] Nanos period() const { return m_period; }
    [[nodiscard]] Nanos period_start() const { return m_period_start; }
    [[nodiscard]] Nanos period_end() const { return m_period_start + m_period; }
    // 0 for the first period, +1 per period rolled.
    [[nodiscard]] std::uint64_t period_index() const { return m_period_index; }
    // How long to sleep at wall time `now`: to the period's end when the budget is spent,
    // else zero.
    [[nodiscard]] Nanos sleep_time(Nanos now) const;

private:
    Nanos m_period;
    Nanos m_budget;
    Nanos m_period_start;
    Nanos m_used{0};
    std::uint64_t m_period_index = 0;
};

} // namespace minivmm::limiter
