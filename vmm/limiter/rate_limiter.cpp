// RateLimiter: all-or-nothing admission against a bytes bucket and an ops bucket.
#include "vmm/limiter/rate_limiter.hpp"

#include <algorithm>

namespace minivmm::limiter {

RateLimiter::RateLimiter(const RateLimitConfig& config, const Clock& clock) : m_clock(clock)
{
    if (config.bytes)
        m_bytes.emplace(config.bytes->rate, config.bytes->capacity, config.bytes->one_time_burst,
                        clock);
    if (config.ops)
        m_ops.emplace(config.ops->rate, config.ops->capacity, config.ops->one_time_burst, clock);
}

Nanos RateLimiter::time_until_available(std::uint64_t bytes)
{
    Nanos wait{0};
    if (m_bytes)
        wait = std::max(wait, m_bytes->time_until_available(bytes));
    if (m_ops)
        wait = std::max(wait, m_ops->time_until_available(1));
    return wait;
}

bool RateLimiter::try_consume(std::uint64_t bytes)
{
    if (unlimited()) {
        m_bytes_admitted += bytes;
        ++m_ops_admitted;
        return true;
    }
    // Check both before taking from either, so a refusal leaves both buckets untouched.
    if (time_until_available(bytes) > Nanos(0)) {
        if (!m_refused_since)
            m_refused_since = m_clock.now();
        return false;
    }
    if (m_bytes)
        m_bytes->try_consume(bytes);
    if (m_ops)
        m_ops->try_consume(1);
    m_bytes_admitted += bytes;
    ++m_ops_admitted;
    if (m_refused_since) {
        m_throttled += m_clock.now() - *m_refused_since;
        m_refused_since.reset();
    }
    return true;
}

Admission RateLimiter::admit(std::uint64_t bytes)
{
    if (try_consume(bytes))
        return {true, Nanos(0)};
    return {false, time_until_available(bytes)};
}

} // namespace minivmm::limiter
