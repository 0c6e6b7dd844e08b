#include "vmm/vm/rate_limit_gate.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <limits>
#include <utility>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::vm {

RateLimitGate::RateLimitGate(const limiter::RateLimitConfig& config, EventLoop& loop)
    : m_config(config)
    , m_loop(loop)
    , m_timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
{
    if (!m_timer)
        throw SysError("timerfd_create for an I/O rate limiter");
    m_loop.add(m_timer.get(), EPOLLIN, [this](std::uint32_t) { on_timer(); });
}

RateLimitGate::~RateLimitGate() { m_loop.remove(m_timer.get()); }

bool RateLimitGate::admit(std::uint16_t, std::uint64_t bytes)
{
    std::lock_guard lock(m_mutex);
    if (!m_limiter)
        m_limiter.emplace(m_config, m_clock); // empty buckets from this first request on
    const limiter::Admission admission = m_limiter->admit(bytes);
    if (admission.admitted)
        return true;
    if (!m_armed) {
        // The device keeps the refused request at the head of its queue; wake up exactly when
        // the buckets will hold enough for it (at least 1 ns: a zero it_value disarms).
        itimerspec spec {};
        const auto wait = std::max<limiter::Nanos>(admission.wait, limiter::Nanos {1});
        spec.it_value.tv_sec = static_cast<time_t>(wait.count() / 1'000'000'000);
        spec.it_value.tv_nsec = static_cast<long>(wait.count() % 1'000'000'000);
        if (::timerfd_settime(m_timer.get(), 0, &spec, nullptr) < 0)
            throw SysError("timerfd_settime for an I/O rate limiter");
        m_armed = true;
    }
    return false;
}

void RateLimitGate::on_timer()
{
    std::uint64_t expirations = 0;
    (void)!::read(m_timer.get(), &expirations, sizeof expirations);
    {
        std::lock_guard lock(m_mutex);
        m_armed = false;
        if (m_paused) {
            m_retry_held = true;
            return;
        }
    }
    if (m_retry)
        m_retry();
}

namespace {
constexpr std::uint16_t kGateLayout = 1;
// A rate or a capacity the command line or the API could have set (size_parser's bound: 2^62).
constexpr std::uint64_t kMostTokens = std::uint64_t {1} << 62;

void write_bucket(snapshot::StateWriter& out, const std::optional<limiter::BucketConfig>& bucket)
{
    out.boolean(bucket.has_value());
    if (!bucket)
        return;
    out.u64(bucket->rate);
    out.u64(bucket->capacity);
    out.u64(bucket->one_time_burst);
}

std::optional<limiter::BucketConfig> read_bucket(snapshot::StateReader& in, std::string_view name)
{
    if (!in.boolean())
        return std::nullopt;
    limiter::BucketConfig bucket;
    bucket.rate = in.u64();
    bucket.capacity = in.u64();
    bucket.one_time_burst = in.u64();
    if (bucket.rate == 0 || bucket.capacity == 0 || bucket.rate > kMostTokens || bucket.capacity > kMostTokens
        || bucket.one_time_burst > kMostTokens)
        in.fail(fmt::format("the {} bucket's rate {}, capacity {} or burst {} is out of range", name, bucket.rate,
            bucket.capacity, bucket.one_time_burst));
    return bucket;
}
} // namespace

void RateLimitGate::save_state(snapshot::StateWriter& out) const
{
    std::lock_guard lock(m_mutex);
    out.u16(kGateLayout);
    write_bucket(out, m_config.bytes);
    write_bucket(out, m_config.ops);
    out.u64(m_earlier.bytes);
    out.u64(m_earlier.ops);
    out.u64(static_cast<std::uint64_t>(m_earlier.throttled.count()));
    out.boolean(m_limiter.has_value());
    if (m_limiter)
        // Non-const: it first refills the buckets up to now, what the next admit() would do anyway.
        const_cast<limiter::RateLimiter&>(*m_limiter).save_state(out);
}

void RateLimitGate::restore_state(snapshot::StateReader& in)
{
    const std::uint16_t layout = in.u16();
    if (layout != kGateLayout)
        in.fail(fmt::format("rate-limit gate layout {} (this minivmm reads layout {})", layout, kGateLayout));
    limiter::RateLimitConfig config;
    config.bytes = read_bucket(in, "bytes");
    config.ops = read_bucket(in, "ops");
    Usage earlier;
    earlier.bytes = in.u64();
    earlier.ops = in.u64();
    const std::uint64_t throttled = in.u64();
    if (throttled > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        in.fail("the throttled time is out of range");
    earlier.throttled = limiter::Nanos(static_cast<std::int64_t>(throttled));
    std::optional<limiter::RateLimiter> buckets;
    if (in.boolean()) {
        buckets.emplace(config, m_clock);
        buckets->restore_state(in);
    }
    in.expect_end();
    std::lock_guard lock(m_mutex);
    m_config = config;
    m_earlier = earlier;
    m_limiter.reset();
    if (buckets)
        m_limiter.emplace(std::move(*buckets));
}

RateLimitGate::Usage RateLimitGate::usage() const
{
    std::lock_guard lock(m_mutex);
    if (!m_limiter)
        return m_earlier;
    return {m_earlier.bytes + m_limiter->bytes_admitted(), m_earlier.ops + m_limiter->ops_admitted(),
        m_earlier.throttled + m_limiter->throttled_time()};
}

limiter::RateLimitConfig RateLimitGate::config() const
{
    std::lock_guard lock(m_mutex);
    return m_config;
}

void RateLimitGate::pause()
{
    std::lock_guard lock(m_mutex);
    m_paused = true;
    m_clock.pause();
}

void RateLimitGate::resume()
{
    bool retry = false;
    {
        std::lock_guard lock(m_mutex);
        m_paused = false;
        m_clock.resume();
        retry = std::exchange(m_retry_held, false);
    }
    if (retry && m_retry)
        m_retry();
}

void RateLimitGate::set_config(const limiter::RateLimitConfig& config)
{
    std::lock_guard lock(m_mutex);
    if (m_limiter) {
        m_earlier.bytes += m_limiter->bytes_admitted();
        m_earlier.ops += m_limiter->ops_admitted();
        m_earlier.throttled += m_limiter->throttled_time();
        m_limiter.reset(); // the next admit() builds buckets with the new rates
    }
    m_config = config;
    // A request waiting for the old buckets is retried at once against the new ones.
    if (m_armed) {
        itimerspec spec {};
        spec.it_value.tv_nsec = 1;
        if (::timerfd_settime(m_timer.get(), 0, &spec, nullptr) < 0)
            throw SysError("timerfd_settime for an I/O rate limiter");
    }
}

} // namespace minivmm::vm
