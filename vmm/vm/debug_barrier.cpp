// Holding vCPUs for gdb (debug_barrier.hpp).
#include "vmm/vm/debug_barrier.hpp"

namespace minivmm::vm {

DebugBarrier::DebugBarrier(unsigned vcpus)
    : m_vcpus(vcpus)
    , m_hold(std::make_unique<std::atomic<bool>[]>(vcpus))
    , m_parked(vcpus, false)
{
}

void DebugBarrier::hold_all()
{
    std::lock_guard lock(m_mutex);
    for (unsigned i = 0; i < m_vcpus; ++i)
        m_hold[i].store(true, std::memory_order_release);
}

void DebugBarrier::release(std::span<const bool> run)
{
    {
        std::lock_guard lock(m_mutex);
        for (unsigned i = 0; i < m_vcpus && i < run.size(); ++i)
            if (run[i])
                m_hold[i].store(false, std::memory_order_release);
    }
    m_changed.notify_all();
}

bool DebugBarrier::wait_until_parked(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_mutex);
    const bool all = m_changed.wait_for(lock, timeout, [&] {
        if (m_stopping)
            return true;
        for (unsigned i = 0; i < m_vcpus; ++i)
            if (m_hold[i].load(std::memory_order_relaxed) && !m_parked[i])
                return false;
        return true;
    });
    return all && !m_stopping;
}

void DebugBarrier::release_for_stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
}

void DebugBarrier::park(unsigned vcpu)
{
    std::unique_lock lock(m_mutex);
    if (m_stopping || !m_hold[vcpu].load(std::memory_order_relaxed))
        return;
    m_parked[vcpu] = true;
    m_changed.notify_all();
    m_changed.wait(lock, [&] { return m_stopping || !m_hold[vcpu].load(std::memory_order_relaxed); });
    m_parked[vcpu] = false;
}

} // namespace minivmm::vm
