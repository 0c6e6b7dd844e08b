// VcpuRunner: the loop one vCPU thread runs: KVM_RUN, decode the exit, dispatch port I/O and
// MMIO to the buses, and turn fatal exits into a StopReason. Also the --trace log line per exit.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>

#include "vmm/bus/bus.hpp"
#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/limiter/clock.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/vm/code_changed_retries.hpp"
#include "vmm/vm/exit_stats.hpp"
#include "vmm/vm/instruction_completion.hpp"
#include "vmm/vm/pause_barrier.hpp"
#include "vmm/vm/stop_reason.hpp"
#include "vmm/vm/vm_config.hpp"

namespace minivmm::limiter {
class ThreadCpuTimer;
class VcpuThrottle;
class Sleeper;
} // namespace minivmm::limiter

namespace minivmm::vm {

class VmDebugger;

// The signal that interrupts a vCPU thread inside KVM_RUN. Its handler does nothing: the point
// is the EINTR (installed without SA_RESTART).
int vcpu_kick_signal();
// The signal the CPU limiter's per-thread CPU-time timer sends to force KVM_RUN out when a vCPU
// has used its budget (DESIGN.md, "Resource limiter": CPU).
int vcpu_throttle_signal();
// Installs do-nothing handlers for both signals, without SA_RESTART, so KVM_RUN returns EINTR.
void install_vcpu_signal_handlers();

// The CPU share a vCPU may use (S_schedule,j) and the accounting period; share >= 1 means the
// vCPU is not throttled and pays nothing for the limiter.
struct VcpuCpuLimit {
    double share = 1.0;
    limiter::Nanos period {0};
};

// What the vCPU thread measured, for the limits report.
struct VcpuCpuUsage {
    limiter::Nanos cpu_used {0};
    limiter::Nanos throttled {0};
};

struct VcpuContext {
    Bus& pio_bus;
    Bus& mmio_bus;
    const GuestMemory& memory;
    VmStopper& stopper;
    TraceMode trace;
    PauseBarrier& pause; // where this vCPU parks while the VM is paused
    VmDebugger* debugger = nullptr; // --gdb: where it parks for gdb and reports debug events
};

class VcpuRunner {
public:
    VcpuRunner(kvm::VcpuFd vcpu, VcpuContext context, VcpuCpuLimit cpu_limit = {})
        : m_vcpu(std::move(vcpu))
        , m_context(context)
        , m_cpu_limit(cpu_limit)
    {
    }

    // Runs until the VM stops. Call on the vCPU's own thread. `confine` (may be empty) runs on
    // that thread once it is named and its signal mask set, before the first KVM_RUN: it loads
    // the thread's seccomp filter (vmm/sandbox/syscall_filter.hpp).
    void run(const std::function<void()>& confine = {});
    // From any thread: make run() notice the stop promptly.
    void kick();

    [[nodiscard]] kvm::VcpuFd& vcpu() { return m_vcpu; }
    // The state the VMM keeps for this vCPU (MXCSR on hosts that hide it). A snapshot reads it
    // and a restore sets it while the vCPU thread is parked or not started.
    [[nodiscard]] CompletionState& completion_state() { return m_completion_state; }
    [[nodiscard]] const ExitStats& stats() const { return m_stats; }
    // Valid after run() returned.
    [[nodiscard]] const VcpuCpuUsage& cpu_usage() const { return m_cpu_usage; }
    // The vCPU thread's CPU time so far, readable from any thread while it runs.
    [[nodiscard]] limiter::Nanos live_cpu_time() const;
    // From any thread: a new CPU share (PATCH /v1/limits), taken by the vCPU thread at its next
    // exit; kick() afterwards so a vCPU spinning without exits takes it too.
    void set_cpu_limit(VcpuCpuLimit limit);
    // VM exits by kind since the start ("io", "mmio", "hlt", ...), readable from any thread.
    [[nodiscard]] std::vector<std::pair<std::string_view, std::uint64_t>> exit_counts() const;

private:
    void run_loop();
    // Returns the device name that handled the exit ("" for none), for statistics.
    std::string_view handle_exit(const kvm::VmExit& exit);
    std::string_view handle_io(const kvm::IoExit& io);
    std::string_view handle_mmio(const kvm::MmioExit& mmio);
    // A pause or a new CPU limit is pending (vcpu_runner_control.cpp); on the vCPU thread.
    void apply_control(std::optional<limiter::ThreadCpuTimer>& budget_timer,
        std::optional<limiter::VcpuThrottle>& throttle, const limiter::Clock& wall_clock,
        const limiter::Clock& cpu_clock, limiter::Sleeper& sleeper);
    // Before parking: completes the operation of the last exit inside KVM (vcpu_runner_control.cpp).
    void finish_pending_exit();
    void crash(std::string what);
    void trace_exit(const kvm::VmExit& exit, std::string_view device) const;

    kvm::VcpuFd m_vcpu;
    VcpuContext m_context;
    VcpuCpuLimit m_cpu_limit;
    VcpuCpuUsage m_cpu_usage;
    CompletionState m_completion_state;
    CodeChangedRetries m_code_changed_retries;
    ExitStats m_stats;
    std::array<std::atomic<std::uint64_t>, std::variant_size_v<kvm::VmExit>> m_exit_counts {};
    std::atomic<bool> m_limit_changed {false};
    std::mutex m_limit_mutex;
    VcpuCpuLimit m_new_limit;                  // under m_limit_mutex
    limiter::Nanos m_throttled_earlier {0};    // throttled time of throttles replaced by new limits
    mutable std::mutex m_thread_mutex;
    std::atomic<bool> m_thread_known {false};
    pthread_t m_thread {};
};

} // namespace minivmm::vm
