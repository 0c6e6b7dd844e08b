// VcpuRunner: the loop one vCPU thread runs: KVM_RUN, decode the exit, dispatch port I/O and
// MMIO to the buses, and turn fatal exits into a StopReason. Also the --trace log line per exit.
#pragma once

#include <pthread.h>

#include <atomic>
#include <functional>
#include <mutex>

#include "vmm/bus/bus.hpp"
#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/vm/exit_stats.hpp"
#include "vmm/vm/stop_reason.hpp"
#include "vmm/vm/vm_config.hpp"

namespace minivmm::vm {

// The signal that interrupts a vCPU thread inside KVM_RUN. Its handler does nothing: the point
// is the EINTR (installed without SA_RESTART).
int vcpu_kick_signal();
void install_vcpu_kick_handler();

struct VcpuContext {
    Bus& pio_bus;
    Bus& mmio_bus;
    const GuestMemory& memory;
    VmStopper& stopper;
    TraceMode trace;
};

class VcpuRunner {
public:
    VcpuRunner(kvm::VcpuFd vcpu, VcpuContext context) : m_vcpu(std::move(vcpu)), m_context(context) {}

    // Runs until the VM stops. Call on the vCPU's own thread.
    void run();
    // From any thread: make run() notice the stop promptly.
    void kick();

    [[nodiscard]] kvm::VcpuFd& vcpu() { return m_vcpu; }
    [[nodiscard]] const ExitStats& stats() const { return m_stats; }

private:
    // Returns the device name that handled the exit ("" for none), for statistics.
    std::string_view handle_exit(const kvm::VmExit& exit);
    std::string_view handle_io(const kvm::IoExit& io);
    std::string_view handle_mmio(const kvm::MmioExit& mmio);
    // Completes an `int3` the host's emulator gave up on; false when RIP is not at one.
    bool complete_breakpoint();
    void crash(std::string what);
    void trace_exit(const kvm::VmExit& exit, std::string_view device) const;

    kvm::VcpuFd m_vcpu;
    VcpuContext m_context;
    ExitStats m_stats;
    std::mutex m_thread_mutex;
    std::atomic<bool> m_thread_known {false};
    pthread_t m_thread {};
};

} // namespace minivmm::vm
