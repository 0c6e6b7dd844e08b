#include "vmm/vm/vcpu_runner.hpp"

#include <signal.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/thread_cpu_timer.hpp"
#include "vmm/limiter/vcpu_throttle.hpp"
#include "vmm/vm/instruction_completion.hpp"
#include "vmm/vm/register_dump.hpp"
#include "vmm/vm/vm_debugger.hpp"

namespace minivmm::vm {

namespace {
template<class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
// For clang 14 (the fuzz build), which lacks C++20 aggregate deduction (P1816).
template<class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string hex_bytes(std::span<const std::uint8_t> data)
{
    // Little-endian value as the guest sees it, for accesses up to 8 bytes.
    std::uint64_t value = 0;
    std::memcpy(&value, data.data(), std::min<std::size_t>(data.size(), sizeof value));
    return fmt::format("{:#x}", value);
}

std::string_view device_name(const Bus::Result& result)
{
    if (result.outcome == Bus::Outcome::Handled)
        return result.device->name();
    return result.outcome == Bus::Outcome::Crossing ? "crossing" : "unclaimed";
}
} // namespace

int vcpu_kick_signal() { return SIGRTMIN; }
int vcpu_throttle_signal() { return SIGRTMIN + 1; }

void install_vcpu_signal_handlers()
{
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: KVM_RUN must return EINTR
    if (::sigaction(vcpu_kick_signal(), &action, nullptr) < 0)
        throw SysError("sigaction for the vCPU kick signal");
    if (::sigaction(vcpu_throttle_signal(), &action, nullptr) < 0)
        throw SysError("sigaction for the vCPU throttle signal");
}

void VcpuRunner::kick()
{
    m_vcpu.set_immediate_exit(true);
    std::lock_guard lock(m_thread_mutex);
    if (m_thread_known)
        ::pthread_kill(m_thread, vcpu_kick_signal());
}

void VcpuRunner::run(const std::function<void()>& confine)
{
    {
        std::lock_guard lock(m_thread_mutex);
        m_thread = ::pthread_self();
        m_thread_known = true;
    }
    // "vcpu0", "vcpu1", ...: what top -H, /proc/PID/task/*/comm and the limiter tests see.
    ::pthread_setname_np(::pthread_self(), fmt::format("vcpu{}", m_vcpu.index()).c_str());
    // The kick and throttle signals are blocked in every thread but the vCPU threads.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, vcpu_kick_signal());
    sigaddset(&signals, vcpu_throttle_signal());
    ::pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);

    try {
        if (confine)
            confine();
        run_loop();
    } catch (const std::exception& error) {
        m_context.stopper.stop({StopKind::VmmError, 0, fmt::format("vCPU {}: {}", m_vcpu.index(), error.what())});
    }
    if (m_cpu_usage.cpu_used == limiter::Nanos {0})
        m_cpu_usage.cpu_used = limiter::ThreadCpuClock {}.now();
    std::lock_guard lock(m_thread_mutex);
    m_thread_known = false;
}

limiter::Nanos VcpuRunner::live_cpu_time() const
{
    std::lock_guard lock(m_thread_mutex);
    clockid_t clock;
    timespec now {};
    if (!m_thread_known || ::pthread_getcpuclockid(m_thread, &clock) != 0 || ::clock_gettime(clock, &now) != 0)
        return m_cpu_usage.cpu_used;
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

void VcpuRunner::run_loop()
{
    // The CPU limiter only exists for a vCPU whose share is below one host CPU: an unthrottled
    // vCPU runs the plain loop with no timer and no extra system calls.
    std::optional<limiter::ThreadCpuTimer> budget_timer;
    limiter::MonotonicSleeper sleeper;
    limiter::MonotonicClock wall_clock;
    limiter::ThreadCpuClock cpu_clock;
    std::optional<limiter::VcpuThrottle> throttle;
    if (m_cpu_limit.share < 1.0) {
        budget_timer.emplace(vcpu_throttle_signal());
        throttle.emplace(m_cpu_limit.share, m_cpu_limit.period, wall_clock, cpu_clock, sleeper, *budget_timer);
    }

    const bool tracing = m_context.trace == TraceMode::On;
    VmDebugger* const debugger = m_context.debugger;
    const unsigned index = m_vcpu.index();
    while (!m_context.stopper.stopping()) {
        if (debugger && debugger->hold_requested(index)) {
            debugger->park(index); // gdb has the machine stopped (all-stop, vm_debugger.hpp)
            // As after a pause: the kick that stopped us set immediate_exit; a later one sets it anew.
            m_vcpu.set_immediate_exit(false);
            continue;
        }
        if (m_context.pause.pause_requested() || m_limit_changed.load(std::memory_order_acquire)) {
            apply_control(budget_timer, throttle, wall_clock, cpu_clock, sleeper);
            continue; // look at the stop flag again
        }
        if (throttle && throttle->before_run() == limiter::RunDecision::Interrupted)
            continue; // a kick cut the sleep short: look at the stop flag again
        const kvm::VmExit exit = m_vcpu.run();
        m_exit_counts[exit.index()].fetch_add(1, std::memory_order_relaxed); // GET /v1/metrics
        if (throttle)
            throttle->after_run();
        if (!tracing) {
            handle_exit(exit);
            continue;
        }
        const auto start = std::chrono::steady_clock::now();
        const std::string_view device = handle_exit(exit);
        m_stats.record(kvm::exit_name(exit), device, std::chrono::steady_clock::now() - start);
        trace_exit(exit, device);
    }
    if (throttle || m_throttled_earlier > limiter::Nanos {0})
        m_cpu_usage = {cpu_clock.now(), m_throttled_earlier + (throttle ? throttle->throttled_time() : limiter::Nanos {0})};
}

std::string_view VcpuRunner::handle_exit(const kvm::VmExit& exit)
{
    // An exit the guest caused by running on (port I/O, MMIO, HLT, ...) is progress: only
    // code-changed failures with nothing between them count towards a loop. An interrupted
    // KVM_RUN (a kick, the CPU limiter's timer) says nothing either way.
    if (!std::holds_alternative<kvm::InternalErrorExit>(exit) && !std::holds_alternative<kvm::InterruptedExit>(exit))
        m_code_changed_retries.guest_progressed();
    return std::visit(Overloaded {
                          [&](const kvm::IoExit& io) { return handle_io(io); },
                          [&](const kvm::MmioExit& mmio) { return handle_mmio(mmio); },
                          [&](const kvm::ShutdownExit&) -> std::string_view {
                              crash("triple fault (KVM_EXIT_SHUTDOWN)");
                              return {};
                          },
                          [&](const kvm::HaltExit&) -> std::string_view { return {}; },
                          [&](const kvm::InterruptedExit&) -> std::string_view { return {}; },
                          [&](const kvm::SystemEventExit& event) -> std::string_view {
                              if (event.type == KVM_SYSTEM_EVENT_SHUTDOWN || event.type == KVM_SYSTEM_EVENT_RESET)
                                  m_context.stopper.stop({StopKind::GuestReset, 0, "guest requested shutdown/reset"});
                              else
                                  crash(fmt::format("guest system event {} (crash)", event.type));
                              return {};
                          },
                          [&](const kvm::InternalErrorExit& error) -> std::string_view {
                              // Some software KVMs cannot emulate a few instructions whose effect
                              // is well defined; finish those here (instruction_completion.hpp).
                              if (error.suberror == KVM_INTERNAL_ERROR_EMULATION) {
                                  // A software KVM cannot emulate int3: gdb's breakpoints arrive here.
                                  if (m_context.debugger && m_context.debugger->on_emulation_failure(m_vcpu))
                                      return "gdb-breakpoint";
                                  const auto result = complete_instruction(m_vcpu, m_context.memory, error.data, m_completion_state);
                                  if (result.kind == Completion::Completed) {
                                      m_code_changed_retries.instruction_completed();
                                      return result.instruction;
                                  }
                                  // Code patched under the failed emulation: run it again, a bounded
                                  // number of times without progress (a real loop is a failure to
                                  // report; code_changed_retries.hpp).
                                  if (result.kind == Completion::CodeChanged && m_code_changed_retries.allow_retry())
                                      return result.instruction;
                              }
                              std::string data;
                              for (auto word : error.data)
                                  data += fmt::format(" {:#x}", word);
                              crash(fmt::format("KVM internal error, suberror {}{} (data:{})", error.suberror,
                                  error.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "",
                                  data.empty() ? " none" : data));
                              return {};
                          },
                          [&](const kvm::FailEntryExit& fail) -> std::string_view {
                              crash(fmt::format("KVM could not enter the guest (hardware reason {:#x})", fail.reason));
                              return {};
                          },
                          [&](const kvm::DebugExit& debug) -> std::string_view {
                              if (!m_context.debugger) {
                                  crash("KVM_EXIT_DEBUG without a debugger");
                                  return {};
                              }
                              m_context.debugger->on_debug_exit(m_vcpu, debug);
                              return "gdb";
                          },
                          [&](const kvm::UnknownExit& unknown) -> std::string_view {
                              crash(fmt::format("unhandled VM exit reason {}", unknown.reason));
                              return {};
                          },
                      },
        exit);
}

std::string_view VcpuRunner::handle_io(const kvm::IoExit& io)
{
    // String I/O (ins/outs with rep) arrives as `count` back-to-back elements of `size` bytes.
    Bus::Result result {};
    for (std::uint32_t i = 0; i < io.count; ++i) {
        auto element = io.data.subspan(std::size_t(i) * io.size, io.size);
        result = io.direction == kvm::Direction::Write ? m_context.pio_bus.write(io.port, element)
                                                       : m_context.pio_bus.read(io.port, element);
    }
    return device_name(result);
}

std::string_view VcpuRunner::handle_mmio(const kvm::MmioExit& mmio)
{
    const Bus::Result result = mmio.direction == kvm::Direction::Write ? m_context.mmio_bus.write(mmio.address, mmio.data)
                                                                       : m_context.mmio_bus.read(mmio.address, mmio.data);
    return device_name(result);
}

void VcpuRunner::crash(std::string what)
{
    // The report always goes to stderr, traced or not: it is what the user needs to debug.
    const std::string state = format_vcpu_state(m_vcpu, m_context.memory);
    m_context.stopper.stop({StopKind::GuestCrash, 0, fmt::format("vCPU {}: {}\n{}", m_vcpu.index(), what, state)});
}

void VcpuRunner::trace_exit(const kvm::VmExit& exit, std::string_view device) const
{
    std::string line = std::visit(Overloaded {
                                      [](const kvm::IoExit& io) {
                                          return fmt::format("port={:#06x} size={} count={} data={}", io.port, io.size,
                                              io.count, hex_bytes(io.data.first(io.size)));
                                      },
                                      [](const kvm::MmioExit& mmio) {
                                          return fmt::format("addr={:#x} size={} data={}", mmio.address, mmio.data.size(),
                                              hex_bytes(mmio.data));
                                      },
                                      [](const auto&) { return std::string(); },
                                  },
        exit);
    fmt::print(stderr, "trace: vcpu{} {} {}{}{}\n", m_vcpu.index(), kvm::exit_name(exit), line,
        device.empty() ? "" : " -> ", device);
}

} // namespace minivmm::vm
