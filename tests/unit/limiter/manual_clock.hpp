// ManualClock: a limiter Clock that moves only when a test says so (no sleeps in limiter tests).
#pragma once

#include "vmm/limiter/clock.hpp"

namespace minivmm::testing {

class ManualClock final : public limiter::Clock {
public:
    explicit ManualClock(limiter::Nanos start = limiter::Nanos(0)) : m_now(start) {}
    [[nodiscard]] limiter::Nanos now() const override { return m_now; }
    void advance(limiter::Nanos by) { m_now += by; }
    void set(limiter::Nanos to) { m_now = to; }

private:
    limiter::Nanos m_now;
};

} // namespace minivmm::testing
