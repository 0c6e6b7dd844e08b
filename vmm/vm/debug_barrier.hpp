// DebugBarrier: where vCPU threads wait while gdb has the machine stopped (all-stop mode,
// "Debugging with GDB" §5.5.1 "All-Stop Mode"). Like the control API's PauseBarrier, but each
// vCPU is held or released on its own: a single step lets one vCPU run while the others stay
// where they are. A held vCPU parks at the top of its run loop on a condition variable (no CPU).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace minivmm::vm {

class DebugBarrier {
public:
    explicit DebugBarrier(unsigned vcpus);

    // gdb side. Every vCPU must park at its next loop round (the caller kicks them out of KVM_RUN).
    void hold_all();
    // Releases the vCPUs whose `run` entry is true; the others stay held.
    void release(std::span<const bool> run);
    // Waits until every held vCPU is parked; false at the timeout (a vCPU busy in the host) or
    // when the VM is ending.
    bool wait_until_parked(std::chrono::milliseconds timeout);
    // The VM is ending: parked threads leave, and nothing parks any more.
    void release_for_stop();

    // vCPU side: one atomic load per loop round.
    [[nodiscard]] bool hold_requested(unsigned vcpu) const
    {
        return m_hold[vcpu].load(std::memory_order_acquire);
    }
    // Blocks while this vCPU is held (and the VM is not ending).
    void park(unsigned vcpu);

    [[nodiscard]] unsigned vcpus() const { return m_vcpus; }

private:
    unsigned m_vcpus;
    std::unique_ptr<std::atomic<bool>[]> m_hold;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<bool> m_parked; // under m_mutex
    bool m_stopping = false;    // under m_mutex
};

} // namespace minivmm::vm
