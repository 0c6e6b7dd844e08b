// TokenBucket: exact integer refill, one-time burst, and debt for oversize requests.
#include "vmm/limiter/token_bucket.hpp"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

namespace minivmm::limiter {

namespace {

constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;
using Wide = __int128;

} // namespace

TokenBucket::TokenBucket(std::uint64_t rate, std::uint64_t capacity, std::uint64_t one_time_burst,
                         const Clock& clock)
    : m_clock(clock)
    , m_rate(rate)
    , m_capacity(capacity)
    , m_burst(one_time_burst)
    , m_initial_burst(one_time_burst)
    , m_tokens(0)
    , m_last_refill(clock.now())
{
    assert(rate > 0);
    assert(capacity > 0 && capacity <= static_cast<std::uint64_t>(INT64_MAX));
}

void TokenBucket::refill()
{
    const Nanos now = m_clock.now();
    if (now <= m_last_refill)
        return;
    const auto elapsed = static_cast<std::uint64_t>((now - m_last_refill).count());
    m_last_refill = now;
    const auto capacity = static_cast<std::int64_t>(m_capacity);
    if (m_tokens >= capacity) {
        m_remainder = 0;
        return;
    }
    // tokens * 1e9 owed = elapsed_ns * rate, plus the remainder left from earlier refills.
    const Wide owed = static_cast<Wide>(elapsed) * m_rate + m_remainder;
    const Wide whole = owed / kNanosPerSecond;
    const Wide filled = static_cast<Wide>(m_tokens) + whole;
    if (filled >= capacity) {
        m_tokens = capacity;
        m_remainder = 0;
    } else {
        m_tokens = static_cast<std::int64_t>(filled);
        m_remainder = static_cast<std::uint64_t>(owed % kNanosPerSecond);
    }
}

bool TokenBucket::is_oversize(std::uint64_t tokens) const
{
    return static_cast<Wide>(tokens) > static_cast<Wide>(m_capacity) + m_burst;
}

bool TokenBucket::can_pass(std::uint64_t tokens) const
{
    if (is_oversize(tokens))
        return m_tokens >= static_cast<std::int64_t>(m_capacity);
    return static_cast<Wide>(m_tokens) + m_burst >= static_cast<Wide>(tokens);
}

bool TokenBucket::try_consume(std::uint64_t tokens)
{
    if (tokens == 0)
        return true;
    refill();
    if (!can_pass(tokens))
        return false;
    const std::uint64_t from_burst = std::min(m_burst, tokens);
    m_burst -= from_burst;
    // Oversize requests may push this below zero: the debt described in the header.
    m_tokens = static_cast<std::int64_t>(static_cast<Wide>(m_tokens) - (tokens - from_burst));
    return true;
}

Nanos TokenBucket::time_until_available(std::uint64_t tokens)
{
    if (tokens == 0)
        return Nanos(0);
    refill();
    if (can_pass(tokens))
        return Nanos(0);
    // The level the bucket's own tokens must reach: all of it for an oversize request.
    const Wide needed = is_oversize(tokens) ? static_cast<Wide>(m_capacity)
                                            : static_cast<Wide>(tokens) - m_burst;
    const Wide deficit = needed - m_tokens; // > 0 here
    // Smallest t with floor((t * rate + remainder) / 1e9) >= deficit.
    const Wide numerator = deficit * kNanosPerSecond - m_remainder;
    const Wide wait = (numerator + m_rate - 1) / m_rate;
    return Nanos(static_cast<Nanos::rep>(std::min<Wide>(wait, INT64_MAX)));
}

void TokenBucket::save_state(snapshot::StateWriter& out)
{
    refill();
    out.u64(static_cast<std::uint64_t>(m_tokens));
    out.u64(m_remainder);
    out.u64(m_burst);
}

void TokenBucket::restore_state(snapshot::StateReader& in)
{
    const auto tokens = static_cast<std::int64_t>(in.u64());
    const std::uint64_t remainder = in.u64();
    const std::uint64_t burst = in.u64();
    if (remainder >= kNanosPerSecond)
        in.fail(fmt::format("token bucket remainder {} is not below one token (1e9)", remainder));
    // A debt comes from one oversize request, so it is at most one request's size: anything
    // beyond half the range is corrupt, and keeps the refill arithmetic far from overflow.
    if (tokens < INT64_MIN / 2)
        in.fail(fmt::format("token bucket debt of {} tokens", tokens));
    m_tokens = std::min(tokens, static_cast<std::int64_t>(m_capacity));
    m_remainder = m_tokens == static_cast<std::int64_t>(m_capacity) ? 0 : remainder;
    m_burst = std::min(burst, m_initial_burst);
    m_last_refill = m_clock.now();
}

std::int64_t TokenBucket::tokens()
{
    refill();
    return m_tokens;
}

} // namespace minivmm::limiter
