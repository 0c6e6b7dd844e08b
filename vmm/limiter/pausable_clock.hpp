// PausableClock: a clock that stands still while the VM is paused, so the limiter's token
// buckets save up no credit over a pause (DESIGN.md, "The control plane": pause stops the
// limiter's clocks). Reads and pause/resume are thread-safe.
#pragma once

#include <mutex>
#include <optional>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

class PausableClock final : public Clock {
public:
    explicit PausableClock(const Clock& base) : m_base(base) {}
    // The base clock's time less every paused stretch; constant while paused.
    [[nodiscard]] Nanos now() const override;
    void pause();
    void resume();

private:
    const Clock& m_base;
    mutable std::mutex m_mutex;
    Nanos m_paused_total {0};
    std::optional<Nanos> m_paused_at; // base time of the pause in progress
};

} // namespace minivmm::limiter
