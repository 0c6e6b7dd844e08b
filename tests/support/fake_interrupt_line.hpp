// FakeInterruptLine: an InterruptLine that records its level and counts pulses, for device
// unit tests without KVM.
#pragma once

#include <atomic>

#include "vmm/bus/interrupt_line.hpp"

namespace minivmm::testing {

class FakeInterruptLine final : public InterruptLine {
public:
    void set_level(bool asserted) override
    {
        if (asserted && !m_level)
            ++m_rising_edges;
        m_level = asserted;
    }
    void pulse() override { ++m_pulses; }

    [[nodiscard]] bool level() const { return m_level; }
    [[nodiscard]] int rising_edges() const { return m_rising_edges; }
    [[nodiscard]] int pulses() const { return m_pulses; }

private:
    std::atomic<bool> m_level{false};
    std::atomic<int> m_rising_edges{0};
    std::atomic<int> m_pulses{0};
};

} // namespace minivmm::testing
