// The gdb stub's target over the VM (vm_debugger.hpp): all-stop run control, and the vCPU
// threads' side (debug exits, our int3s). Registers and memory: vm_debugger_state.cpp;
// breakpoints: vm_debugger_breakpoints.cpp.
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/debug_registers.hpp"
#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

using gdb::BreakpointType;
using gdb::InsertResult;
using gdb::ResumeAction;
using gdb::StopEvent;

namespace {
constexpr std::chrono::milliseconds kParkTimeout {5000};
constexpr std::uint8_t kSigTrap = 5;
constexpr std::uint8_t kSigInt = 2;
constexpr std::uint64_t kEferLma = 1u << 10;

void inject_breakpoint_trap(kvm::VcpuFd& vcpu)
{
    // The guest's own int3 under USE_SW_BP: KVM stopped at it (RIP at the 0xCC). Finish it as the
    // CPU would (Intel SDM vol 2A "INT n/INTO/INT3": #BP is a trap, the saved RIP is after it).
    kvm_regs regs = vcpu.get_regs();
    regs.rip += 1;
    vcpu.set_regs(regs);
    kvm_vcpu_events events = vcpu.get_events();
    events.exception.injected = 1;
    events.exception.nr = 3;
    events.exception.has_error_code = 0;
    vcpu.set_events(events);
}
} // namespace

VmDebugger::VmDebugger(unsigned vcpus, const GuestMemory& memory, VmStopper& stopper, bool wait_for_gdb,
    DebugHostSupport host, DebugArchitecture architecture)
    : m_memory(memory)
    , m_stopper(stopper)
    , m_host(host)
    , m_architecture(architecture)
    , m_barrier(vcpus)
    , m_running(vcpus, Running::No)
{
    if (wait_for_gdb)
        m_barrier.hold_all(); // no vCPU runs its first instruction before gdb resumes it
}

void VmDebugger::set_runners(const std::vector<std::unique_ptr<VcpuRunner>>& runners)
{
    m_runners.clear();
    for (const auto& runner : runners)
        m_runners.push_back(runner.get());
}

kvm::VcpuFd& VmDebugger::vcpu_fd(unsigned vcpu) const { return m_runners.at(vcpu)->vcpu(); }

void VmDebugger::hold_everyone()
{
    m_barrier.hold_all();
    for (VcpuRunner* runner : m_runners)
        runner->kick();
}

void VmDebugger::release_for_stop()
{
    m_barrier.release_for_stop();
    m_stop_ready.signal();
}

// ---- vCPU thread side ----

void VmDebugger::report(unsigned vcpu, const StopEvent& event)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_attached)
            return;
        // All-stop: the first event is the one reported; a vCPU that hits a breakpoint while the
        // machine is already stopping finds it again when resumed (RIP is still at it).
        if (m_expecting_stop && !m_pending) {
            m_pending = event;
            m_pending->vcpu = vcpu;
        }
    }
    hold_everyone();
    m_stop_ready.signal();
}

std::uint64_t VmDebugger::linear_pc(kvm::VcpuFd& vcpu) const
{
    const kvm_regs regs = vcpu.get_regs();
    const kvm_sregs sregs = vcpu.get_sregs();
    if (sregs.efer & kEferLma)
        return regs.rip; // long mode: CS's base is ignored
    return (sregs.cs.base + regs.rip) & 0xffffffffu;
}

void VmDebugger::on_debug_exit(kvm::VcpuFd& vcpu, const kvm::DebugExit& exit)
{
    const unsigned index = vcpu.index();
    if (exit.exception == 3) {
        bool ours;
        {
            std::lock_guard lock(m_mutex);
            ours = m_software.contains(exit.pc);
        }
        if (ours)
            report(index, {StopEvent::Kind::SoftwareBreak, index, kSigTrap});
        else
            inject_breakpoint_trap(vcpu);
        return;
    }
    if (exit.exception != 1)
        return;
    std::optional<StopEvent> event;
    {
        std::lock_guard lock(m_mutex);
        const Running running = m_running[index];
        if (running == Running::Step && (exit.dr6 & kDr6SingleStep)) {
            event = StopEvent {StopEvent::Kind::Step, index, kSigTrap};
        } else {
            for (unsigned slot = 0; slot < m_slots.size() && !event; ++slot) {
                if (!(exit.dr6 & (1u << slot)) || !m_slots[slot].used)
                    continue;
                if (m_slots[slot].type == BreakpointType::Hardware)
                    event = StopEvent {StopEvent::Kind::HardwareBreak, index, kSigTrap};
                else
                    event = StopEvent {StopEvent::Kind::Watch, index, kSigTrap, m_slots[slot].type, m_slots[slot].address};
            }
            if (!event && running == Running::WatchStep && (exit.dr6 & kDr6SingleStep)) {
                if (const auto address = changed_watch(vcpu))
                    event = StopEvent {StopEvent::Kind::Watch, index, kSigTrap, BreakpointType::WriteWatch, *address};
            }
        }
    }
    if (event)
        report(index, *event);
}

bool VmDebugger::on_emulation_failure(kvm::VcpuFd& vcpu)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_attached || m_software.empty())
            return false;
    }
    const std::uint64_t pc = linear_pc(vcpu);
    {
        std::lock_guard lock(m_mutex);
        if (!m_software.contains(pc))
            return false;
    }
    report(vcpu.index(), {StopEvent::Kind::SoftwareBreak, vcpu.index(), kSigTrap});
    return true;
}

// ---- gdb's thread: run control ----

StopEvent VmDebugger::attach()
{
    {
        std::lock_guard lock(m_mutex);
        m_attached = true;
        m_expecting_stop = false;
        m_pending.reset();
    }
    hold_everyone();
    if (!m_barrier.wait_until_parked(kParkTimeout) && !m_stopper.stopping())
        fmt::print(stderr, "minivmm: gdb: warning: a vCPU did not stop within {} ms\n", kParkTimeout.count());
    (void)m_stop_ready.consume();
    return {StopEvent::Kind::Signal, 0, kSigTrap};
}

void VmDebugger::resume(std::span<const ResumeAction> actions)
{
    // Which vCPUs run (not std::vector<bool>: the barrier takes a span of plain bools).
    const auto run = std::make_unique<bool[]>(vcpu_count());
    {
        std::lock_guard lock(m_mutex);
        refresh_watches();
        for (unsigned i = 0; i < vcpu_count() && i < actions.size(); ++i) {
            Running running = Running::No;
            if (actions[i] == ResumeAction::Step)
                running = Running::Step;
            else if (actions[i] == ResumeAction::Continue)
                running = m_watches.empty() ? Running::Continue : Running::WatchStep;
            m_running[i] = running;
            run[i] = running != Running::No;
            vcpu_fd(i).set_guest_debug(guest_debug_for(running));
        }
        m_expecting_stop = true;
        m_pending.reset();
    }
    (void)m_stop_ready.consume();
    m_barrier.release(std::span<const bool>(run.get(), vcpu_count()));
}

std::optional<StopEvent> VmDebugger::take_stop()
{
    (void)m_stop_ready.consume();
    {
        std::lock_guard lock(m_mutex);
        if (!m_pending)
            return std::nullopt;
    }
    if (!m_barrier.wait_until_parked(kParkTimeout) && !m_stopper.stopping())
        fmt::print(stderr, "minivmm: gdb: warning: a vCPU did not stop within {} ms\n", kParkTimeout.count());
    std::lock_guard lock(m_mutex);
    std::optional<StopEvent> event = m_pending;
    m_pending.reset();
    m_expecting_stop = false;
    return event;
}

void VmDebugger::interrupt(unsigned vcpu)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_expecting_stop || m_pending)
            return;
        m_pending = StopEvent {StopEvent::Kind::Signal, vcpu, kSigInt};
    }
    hold_everyone();
    m_stop_ready.signal();
}

void VmDebugger::detach()
{
    // gdb may leave while the guest runs (its connection broke): stop every vCPU first, since a
    // vCPU's ioctls wait for a KVM_RUN in progress to end, and a guest spinning without exits
    // would never end it.
    hold_everyone();
    if (!m_barrier.wait_until_parked(kParkTimeout) && !m_stopper.stopping())
        fmt::print(stderr, "minivmm: gdb: warning: a vCPU did not stop within {} ms\n", kParkTimeout.count());
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [address, breakpoint] : m_software) {
            const std::uint8_t original = breakpoint.original;
            (void)m_memory.write(breakpoint.physical, std::span(&original, 1));
        }
        m_software.clear();
        m_slots = {};
        m_watches.clear();
        for (unsigned i = 0; i < vcpu_count(); ++i) {
            m_running[i] = Running::No;
            vcpu_fd(i).set_guest_debug(kvm_guest_debug {});
        }
        m_attached = false;
        m_expecting_stop = false;
        m_pending.reset();
    }
    const auto everyone = std::make_unique<bool[]>(vcpu_count());
    std::fill(everyone.get(), everyone.get() + vcpu_count(), true);
    m_barrier.release(std::span<const bool>(everyone.get(), vcpu_count()));
}

void VmDebugger::kill()
{
    m_stopper.stop({StopKind::UserQuit, 0, "killed from gdb"});
}

std::optional<StopEvent> VmDebugger::ended() const
{
    const auto reason = m_stopper.reason();
    if (!reason)
        return std::nullopt;
    StopEvent event;
    if (reason->kind == StopKind::ExitPort || reason->kind == StopKind::GuestReset) {
        event.kind = StopEvent::Kind::Exited;
        event.exit_status = reason->kind == StopKind::ExitPort ? reason->status : 0;
    } else {
        event.kind = StopEvent::Kind::Killed;
    }
    return event;
}

} // namespace minivmm::vm
