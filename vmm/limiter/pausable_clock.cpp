// A clock that stops over a pause (pausable_clock.hpp).
#include "vmm/limiter/pausable_clock.hpp"

namespace minivmm::limiter {

Nanos PausableClock::now() const
{
    std::lock_guard lock(m_mutex);
    const Nanos base = m_paused_at ? *m_paused_at : m_base.now();
    return base - m_paused_total;
}

void PausableClock::pause()
{
    std::lock_guard lock(m_mutex);
    if (!m_paused_at)
        m_paused_at = m_base.now();
}

void PausableClock::resume()
{
    std::lock_guard lock(m_mutex);
    if (!m_paused_at)
        return;
    m_paused_total += m_base.now() - *m_paused_at;
    m_paused_at.reset();
}

} // namespace minivmm::limiter
