// RateLimitGate: a device queue's I/O limiter (DESIGN.md, "Resource limiter": token buckets
// for bytes/s and ops/s with a one-time burst). A request the buckets refuse waits: the gate
// arms a timerfd on the event loop for the exact time until it would pass, and then asks the
// device to process its queue again. Nothing is dropped or reordered.
//
// The buckets come into being at the queue's first request, not with the VM: they start empty
// there, so the boot (however long) is no idle time to save tokens up from, and burst= stays the
// only up-front allowance (64 MiB at bw=16M takes 4 s from the first request). Idle time after
// that first request does save up, as token_bucket.hpp says (at most one bucketful).
#pragma once

#include <functional>
#include <mutex>
#include <optional>

#include "devices/virtio/queue/request_gate.hpp"
#include "vmm/base/event_loop.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/pausable_clock.hpp"
#include "vmm/limiter/rate_limit_config.hpp"
#include "vmm/limiter/rate_limiter.hpp"
#include "vmm/snapshot/snapshottable.hpp"

namespace minivmm::vm {

class RateLimitGate final : public virtio::RequestGate, public snapshot::Snapshottable {
public:
    RateLimitGate(const limiter::RateLimitConfig& config, EventLoop& loop);
    ~RateLimitGate() override;
    RateLimitGate(const RateLimitGate&) = delete;
    RateLimitGate& operator=(const RateLimitGate&) = delete;

    // What to call (on the loop thread) when a refused request may pass now.
    void set_retry(std::function<void()> retry) { m_retry = std::move(retry); }
    bool admit(std::uint16_t queue, std::uint64_t bytes) override;

    struct Usage {
        std::uint64_t bytes = 0;
        std::uint64_t ops = 0;
        limiter::Nanos throttled {0};
    };
    [[nodiscard]] Usage usage() const;
    [[nodiscard]] limiter::RateLimitConfig config() const;

    // Control API (on the loop thread). Pause: the buckets' clock stops, so no credit is saved up
    // over a pause, and a retry that falls due meanwhile waits for resume().
    void pause();
    void resume();
    // New limits (PATCH /v1/limits): buckets with the new rates from the next request on,
    // starting empty as at the first request (token_bucket.hpp); usage figures carry on.
    void set_config(const limiter::RateLimitConfig& config);

    // Snapshot (issue "Snapshot and restore"): the limits in force (PATCH /v1/limits may have
    // changed them since the command line), the usage of replaced buckets and the buckets
    // themselves (limiter::RateLimiter::save_state), if the first request made them. Restore
    // validates everything before it changes the gate (SnapshotError otherwise).
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in) override;

private:
    void on_timer();

    limiter::RateLimitConfig m_config;
    limiter::MonotonicClock m_monotonic;
    limiter::PausableClock m_clock {m_monotonic};
    Usage m_earlier; // usage of buckets replaced by set_config()
    bool m_paused = false;
    bool m_retry_held = false;
    EventLoop& m_loop;
    UniqueFd m_timer;
    std::function<void()> m_retry;
    mutable std::mutex m_mutex;
    std::optional<limiter::RateLimiter> m_limiter; // from the first admit()
    bool m_armed = false;
};

} // namespace minivmm::vm
