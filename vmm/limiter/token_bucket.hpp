// TokenBucket: one rate (bytes/s or ops/s) of a device queue's I/O limit (DESIGN.md, "Resource
// limiter", I/O). The limiter only answers "now" or "after T"; the device keeps a throttled
// request at the head of its queue and retries it when a timerfd set to T expires, so requests
// are never dropped or reordered.
//
// Contract:
// - The bucket holds up to `capacity` tokens and starts empty, so a limit of R per second
//   holds from the first second on (64 MiB at bw=16M takes 4 s, not 3). It refills at `rate` tokens per
//   second of the injected clock, exactly (the sub-token remainder is carried between refills),
//   and never beyond `capacity`: an idle bucket saves up at most one bucketful.
// - The one-time burst is extra tokens on top, available from the start, spent before the
//   bucket's own tokens and never refilled.
// - A request larger than everything the bucket could ever hold (capacity + burst left) would
//   otherwise wait forever. It is admitted once the bucket is full and leaves the bucket in debt
//   for the excess; the debt is refilled at `rate` before anything else passes, so the long-run
//   rate still holds and the request is only delayed, never refused.
// - A request of 0 tokens always passes.
// Not thread-safe: one bucket belongs to one queue, used from the event-loop thread.
#pragma once

#include <cstdint>

#include "vmm/limiter/clock.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::limiter {

class TokenBucket {
public:
    // rate > 0 tokens/s, 0 < capacity <= INT64_MAX, one_time_burst >= 0 (asserted: callers
    // validate user input, see parse_rate_limit).
    TokenBucket(std::uint64_t rate, std::uint64_t capacity, std::uint64_t one_time_burst,
                const Clock& clock);

    // Takes `tokens` and returns true when the request may go now; changes nothing otherwise.
    bool try_consume(std::uint64_t tokens);
    // How long until try_consume(tokens) will succeed if nothing else consumes meanwhile:
    // zero when it would succeed now, otherwise the exact wait (rounded up to 1 ns).
    Nanos time_until_available(std::uint64_t tokens);

    [[nodiscard]] std::uint64_t rate() const { return m_rate; }
    [[nodiscard]] std::uint64_t capacity() const { return m_capacity; }
    // Tokens in the bucket after refilling to now; negative while in debt.
    std::int64_t tokens();
    [[nodiscard]] std::uint64_t burst_left() const { return m_burst; }

    // Snapshot (issue "Snapshot and restore"): the tokens (refilled to now), the sub-token
    // remainder and the burst left -- relative to the moment of the save, never the clock's
    // absolute value, which means nothing in another process. A restored bucket continues from
    // those figures at its own clock's now, so no credit builds up across the gap. Restore
    // into a bucket of the same configuration; it keeps at most its own capacity and one-time
    // burst (a changed limit or a corrupt file cannot hand out more), and throws SnapshotError
    // on a value no bucket can hold, changing nothing then.
    void save_state(snapshot::StateWriter& out);
    void restore_state(snapshot::StateReader& in);

private:
    void refill();
    [[nodiscard]] bool is_oversize(std::uint64_t tokens) const;
    [[nodiscard]] bool can_pass(std::uint64_t tokens) const;

    const Clock& m_clock;
    std::uint64_t m_rate;
    std::uint64_t m_capacity;
    std::uint64_t m_burst;
    std::uint64_t m_initial_burst; // the configured one-time burst, a restore's upper bound
    std::int64_t m_tokens;
    std::uint64_t m_remainder = 0; // refill owed below one token, in units of 1e-9 token
    Nanos m_last_refill;
};

} // namespace minivmm::limiter
