// RateLimiter: all-or-nothing admission against a bytes bucket and an ops bucket.
#include "vmm/limiter/rate_limiter.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "vmm/snapshot/payload_header.hpp"

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

namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("RLIM");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void RateLimiter::save_state(snapshot::StateWriter& out)
{
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    out.boolean(m_bytes.has_value());
    if (m_bytes)
        m_bytes->save_state(out);
    out.boolean(m_ops.has_value());
    if (m_ops)
        m_ops->save_state(out);
    out.u64(m_bytes_admitted);
    out.u64(m_ops_admitted);
    out.u64(static_cast<std::uint64_t>(m_throttled.count()));
    out.boolean(m_refused_since.has_value());
    if (m_refused_since)
        out.u64(static_cast<std::uint64_t>(std::max(Nanos(0), m_clock.now() - *m_refused_since).count()));
}

void RateLimiter::restore_state(snapshot::StateReader& in)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "rate limiter");
    // Into copies: a failure half-way changes nothing.
    std::optional<TokenBucket> bytes = m_bytes;
    std::optional<TokenBucket> ops = m_ops;
    const auto restore_bucket = [&in](std::optional<TokenBucket>& bucket, const char* name) {
        const bool saved = in.boolean();
        if (saved != bucket.has_value())
            in.fail(fmt::format("the {} bucket was {} at snapshot time but is {} now", name,
                saved ? "limited" : "unlimited", bucket ? "limited" : "unlimited"));
        if (bucket)
            bucket->restore_state(in);
    };
    restore_bucket(bytes, "bytes");
    restore_bucket(ops, "ops");
    const std::uint64_t bytes_admitted = in.u64();
    const std::uint64_t ops_admitted = in.u64();
    const std::uint64_t throttled = in.u64();
    std::optional<std::uint64_t> refused_for;
    if (in.boolean())
        refused_for = in.u64();
    in.expect_end();
    // 2^60 ns is 36 years: far beyond any real figure, and the sums made later (the throttled
    // time plus a refusal's duration) stay far from overflowing a signed 64-bit count.
    constexpr std::uint64_t kMaxNanos = std::uint64_t(1) << 60;
    if (throttled > kMaxNanos || (refused_for && *refused_for > kMaxNanos))
        in.fail(fmt::format("throttled time {} ns or refusal of {} ns out of range", throttled, refused_for.value_or(0)));

    // TokenBucket holds a reference to the clock, so it is not assignable: rebuild in place.
    if (bytes)
        m_bytes.emplace(*bytes);
    if (ops)
        m_ops.emplace(*ops);
    m_bytes_admitted = bytes_admitted;
    m_ops_admitted = ops_admitted;
    m_throttled = Nanos(static_cast<Nanos::rep>(throttled));
    if (refused_for)
        m_refused_since = m_clock.now() - Nanos(static_cast<Nanos::rep>(*refused_for));
    else
        m_refused_since.reset();
}

Admission RateLimiter::admit(std::uint64_t bytes)
{
    if (try_consume(bytes))
        return {true, Nanos(0)};
    return {false, time_until_available(bytes)};
}

} // namespace minivmm::limiter
