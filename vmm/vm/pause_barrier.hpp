// PauseBarrier: where vCPU threads park while the VM is paused (DESIGN.md, "The control plane":
// pause is a barrier). The controller asks for a pause, kicks every vCPU out of KVM_RUN
// (immediate_exit + the kick signal, as stopping does) and waits until all of them have parked
// here; resume() lets them go. A parked thread sits on a condition variable: it uses no CPU.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace minivmm::vm {

class PauseBarrier {
public:
    // Controller side (event-loop thread).
    void request_pause();
    // Waits until `vcpus` threads are parked; false at the timeout (a vCPU stuck in the host).
    bool wait_until_parked(unsigned vcpus, std::chrono::milliseconds timeout);
    // Lets every parked vCPU run again.
    void resume();
    // Waits until no vCPU is parked any more (all are back in their run loop); false at the timeout.
    bool wait_until_released(std::chrono::milliseconds timeout);
    // The VM is ending: parked threads leave park() to see it (also called from the stop kick).
    void release_for_stop();

    // vCPU side: one relaxed load per loop round, nothing more when no pause is wanted.
    [[nodiscard]] bool pause_requested() const { return m_requested.load(std::memory_order_acquire); }
    // Counts the calling vCPU parked and blocks until resume() or the VM stops.
    void park();

    [[nodiscard]] unsigned parked() const;

private:
    std::atomic<bool> m_requested {false};
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    unsigned m_parked = 0;
    bool m_stop_released = false;
};

} // namespace minivmm::vm
