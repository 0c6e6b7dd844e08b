// RecordingInterruptLine: an InterruptLine that records every set_level() call in order, for
// tests that check a device drives its line only on level changes.
#pragma once

#include <mutex>
#include <vector>

#include "vmm/bus/interrupt_line.hpp"

namespace minivmm::testing {

class RecordingInterruptLine final : public InterruptLine {
public:
    void set_level(bool asserted) override
    {
        std::lock_guard lock(m_mutex);
        m_levels.push_back(asserted);
    }
    void pulse() override
    {
        std::lock_guard lock(m_mutex);
        ++m_pulses;
    }

    [[nodiscard]] std::vector<bool> levels() const
    {
        std::lock_guard lock(m_mutex);
        return m_levels;
    }
    [[nodiscard]] bool level() const
    {
        std::lock_guard lock(m_mutex);
        return !m_levels.empty() && m_levels.back();
    }
    [[nodiscard]] int pulses() const
    {
        std::lock_guard lock(m_mutex);
        return m_pulses;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<bool> m_levels;
    int m_pulses = 0;
};

} // namespace minivmm::testing
