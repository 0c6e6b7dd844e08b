// Parking vCPU threads for a pause (pause_barrier.hpp).
#include "vmm/vm/pause_barrier.hpp"

namespace minivmm::vm {

void PauseBarrier::request_pause()
{
    std::lock_guard lock(m_mutex);
    m_requested.store(true, std::memory_order_release);
}

bool PauseBarrier::wait_until_parked(unsigned vcpus, std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_parked >= vcpus || m_stop_released; }) && !m_stop_released;
}

void PauseBarrier::resume()
{
    {
        std::lock_guard lock(m_mutex);
        m_requested.store(false, std::memory_order_release);
    }
    m_changed.notify_all();
}

bool PauseBarrier::wait_until_released(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_parked == 0 || m_stop_released; });
}

void PauseBarrier::release_for_stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop_released = true;
    }
    m_changed.notify_all();
}

void PauseBarrier::park()
{
    std::unique_lock lock(m_mutex);
    if (!m_requested.load(std::memory_order_relaxed) || m_stop_released)
        return;
    ++m_parked;
    m_changed.notify_all();
    m_changed.wait(lock, [&] { return !m_requested.load(std::memory_order_relaxed) || m_stop_released; });
    --m_parked;
    m_changed.notify_all(); // wait_until_released()
}

unsigned PauseBarrier::parked() const
{
    std::lock_guard lock(m_mutex);
    return m_parked;
}

} // namespace minivmm::vm
