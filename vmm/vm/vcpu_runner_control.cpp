// The vCPU thread's side of the control API (vcpu_runner.hpp): parking for a pause
// (pause_barrier.hpp) and taking a new CPU share (PATCH /v1/limits, DESIGN.md "Resource
// limiter": S_schedule,j), both at a loop round outside KVM_RUN.
#include <fmt/format.h>

#include "vmm/limiter/thread_cpu_timer.hpp"
#include "vmm/limiter/vcpu_throttle.hpp"
#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

void VcpuRunner::set_cpu_limit(VcpuCpuLimit limit)
{
    {
        std::lock_guard lock(m_limit_mutex);
        m_new_limit = limit;
    }
    m_limit_changed.store(true, std::memory_order_release);
}

std::vector<std::pair<std::string_view, std::uint64_t>> VcpuRunner::exit_counts() const
{
    // In kvm::VmExit's alternative order.
    static constexpr std::string_view kNames[] = {"io", "mmio", "shutdown", "hlt", "interrupted", "system-event",
        "internal-error", "fail-entry", "unknown", "debug"};
    static_assert(std::size(kNames) == std::variant_size_v<kvm::VmExit>);
    std::vector<std::pair<std::string_view, std::uint64_t>> counts;
    for (std::size_t i = 0; i < std::size(kNames); ++i)
        counts.emplace_back(kNames[i], m_exit_counts[i].load(std::memory_order_relaxed));
    return counts;
}

void VcpuRunner::apply_control(std::optional<limiter::ThreadCpuTimer>& budget_timer,
    std::optional<limiter::VcpuThrottle>& throttle, const limiter::Clock& wall_clock, const limiter::Clock& cpu_clock,
    limiter::Sleeper& sleeper)
{
    if (m_limit_changed.exchange(false, std::memory_order_acq_rel)) {
        VcpuCpuLimit limit;
        {
            std::lock_guard lock(m_limit_mutex);
            limit = m_new_limit;
        }
        m_cpu_limit = limit;
        // A fresh throttle starts a fresh period: the new share holds from the next period on,
        // and nothing saved under the old share carries over.
        if (throttle) {
            m_throttled_earlier += throttle->throttled_time();
            throttle.reset();
        }
        if (limit.share < 1.0) {
            if (!budget_timer)
                budget_timer.emplace(vcpu_throttle_signal());
            throttle.emplace(limit.share, limit.period, wall_clock, cpu_clock, sleeper, *budget_timer);
        } else {
            budget_timer.reset(); // unthrottled: no timer, no extra system calls
        }
    }
    if (m_context.pause.pause_requested()) {
        finish_pending_exit();
        m_context.pause.park(); // no CPU time passes here, so the throttle's budget is untouched
    }
    // The kick that brought us here set immediate_exit. Clear it before the loop looks at the
    // stop flag again: a stop recorded after this sets it anew, so KVM_RUN still returns at once.
    m_vcpu.set_immediate_exit(false);
}

void VcpuRunner::finish_pending_exit()
{
    // Documentation/virt/kvm/api.rst, "immediate_exit" and KVM_EXIT_IO/KVM_EXIT_MMIO: the
    // operation of an exit (an `in`'s value into RAX, RIP past an `out`) completes only at the
    // next KVM_RUN, and that state is not visible to user space before. Entering once with
    // immediate_exit set completes it without running a guest instruction (KVM_RUN returns
    // EINTR), so what a snapshot or gdb reads while the vCPU is parked is the guest's real state
    // and a restored guest neither repeats an `out` nor loses an `in`. An access KVM splits
    // (MMIO across a page) may exit once more: served like any exit, a bounded number of times.
    constexpr int kMostExits = 8;
    m_vcpu.set_immediate_exit(true);
    for (int round = 0; round < kMostExits && !m_context.stopper.stopping(); ++round) {
        const kvm::VmExit exit = m_vcpu.run();
        if (std::holds_alternative<kvm::InterruptedExit>(exit))
            return;
        handle_exit(exit);
    }
}

} // namespace minivmm::vm
