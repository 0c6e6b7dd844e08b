// CpuBudget: per-period CPU-time accounting with overshoot carried as debt.
#include "vmm/limiter/cpu_budget.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace minivmm::limiter {

CpuBudget::CpuBudget(double share, Nanos period, Nanos start)
    : m_period(period)
    , m_budget(static_cast<Nanos::rep>(std::llround(std::clamp(share, 0.0, 1.0)
                                                    * static_cast<double>(period.count()))))
    , m_period_start(start)
{
    assert(period.count() > 0);
}

void CpuBudget::advance_to(Nanos now)
{
    if (now < period_end())
        return;
    const auto periods = static_cast<std::uint64_t>((now - m_period_start) / m_period);
    m_period_start += m_period * static_cast<Nanos::rep>(periods);
    m_period_index += periods;
    // Forgive one budget per rolled period; what is left is debt from an overshoot.
    const long double forgiven = static_cast<long double>(m_budget.count()) * periods;
    if (static_cast<long double>(m_used.count()) <= forgiven)
        m_used = Nanos(0);
    else
        m_used -= Nanos(static_cast<Nanos::rep>(forgiven));
}

void CpuBudget::charge(Nanos cpu_time)
{
    if (cpu_time.count() > 0)
        m_used += cpu_time;
}

Nanos CpuBudget::remaining() const
{
    return exhausted() ? Nanos(0) : m_budget - m_used;
}

Nanos CpuBudget::sleep_time(Nanos now) const
{
    if (!exhausted() || now >= period_end())
        return Nanos(0);
    return period_end() - now;
}

} // namespace minivmm::limiter
