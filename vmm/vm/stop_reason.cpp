#include "vmm/vm/stop_reason.hpp"

namespace minivmm::vm {

void VmStopper::stop(StopReason reason)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_reason)
            return;
        m_reason = std::move(reason);
    }
    if (m_kick)
        m_kick();
}

bool VmStopper::stopping() const
{
    std::lock_guard lock(m_mutex);
    return m_reason.has_value();
}

std::optional<StopReason> VmStopper::reason() const
{
    std::lock_guard lock(m_mutex);
    return m_reason;
}

} // namespace minivmm::vm
