// Clock: the injectable time source of the limiter, so every rate and budget decision can be
// unit-tested against a manual clock instead of sleeping (STYLE.md, "Tests").
#pragma once

#include <chrono>

namespace minivmm::limiter {

using Nanos = std::chrono::nanoseconds;

class Clock {
public:
    virtual ~Clock() = default;
    // Time since an arbitrary fixed origin; never goes backwards.
    [[nodiscard]] virtual Nanos now() const = 0;
};

// CLOCK_MONOTONIC: wall time for periods and token refills (unaffected by settimeofday).
class MonotonicClock final : public Clock {
public:
    [[nodiscard]] Nanos now() const override;
};

// CLOCK_THREAD_CPUTIME_ID of the calling thread: the CPU time a vCPU thread has used, guest
// time inside KVM_RUN included. Only meaningful when read on the thread being measured.
class ThreadCpuClock final : public Clock {
public:
    [[nodiscard]] Nanos now() const override;
};

} // namespace minivmm::limiter
