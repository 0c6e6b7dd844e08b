// RateLimiter: the I/O limit of one device queue, a bytes bucket and an ops bucket together
// (DESIGN.md, "Resource limiter", I/O). A request of N bytes is one op and N bytes; it passes
// only when both buckets allow it, and then takes from both (never from just one). See
// token_bucket.hpp for the bucket contract (burst, oversize requests, exact waits).
//
// The device calls admit(bytes) for the request at the head of its queue: when admitted it
// submits it; otherwise it leaves it at the head, arms a timerfd for `wait` and tries the same
// request again when the timer fires. Requests are never dropped or reordered.
#pragma once

#include <cstdint>
#include <optional>

#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/rate_limit_config.hpp"
#include "vmm/limiter/token_bucket.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::limiter {

struct Admission {
    bool admitted = false;
    Nanos wait{0}; // when not admitted: the exact time until the request would pass
};

class RateLimiter {
public:
    // An empty config (no bytes, no ops) gives a limiter that admits everything at no cost.
    RateLimiter(const RateLimitConfig& config, const Clock& clock);

    [[nodiscard]] bool unlimited() const { return !m_bytes && !m_ops; }
    // Takes one op and `bytes` when both buckets allow, else changes nothing.
    bool try_consume(std::uint64_t bytes);
    // The longer of the two buckets' waits; zero when try_consume would succeed now.
    Nanos time_until_available(std::uint64_t bytes);
    // try_consume, and the wait when it fails.
    Admission admit(std::uint64_t bytes);

    // For the report: what was admitted and how long requests were held back (from the first
    // refusal of a request to its admission).
    [[nodiscard]] std::uint64_t bytes_admitted() const { return m_bytes_admitted; }
    [[nodiscard]] std::uint64_t ops_admitted() const { return m_ops_admitted; }
    [[nodiscard]] Nanos throttled_time() const { return m_throttled; }

    // Snapshot (issue "Snapshot and restore"): both buckets (token_bucket.hpp) and the report's
    // figures, a refusal in progress as the time it has lasted so far. Restore into a limiter
    // built from the same configuration: a bucket saved but not configured, or the other way
    // round, is a SnapshotError, and so is any bad value; the limiter is then unchanged.
    // Not thread-safe, like the rest of the limiter: call it where admit() is called.
    void save_state(snapshot::StateWriter& out);
    void restore_state(snapshot::StateReader& in);

private:
    const Clock& m_clock;
    std::optional<TokenBucket> m_bytes;
    std::optional<TokenBucket> m_ops;
    std::uint64_t m_bytes_admitted = 0;
    std::uint64_t m_ops_admitted = 0;
    Nanos m_throttled{0};
    std::optional<Nanos> m_refused_since;
};

} // namespace minivmm::limiter
