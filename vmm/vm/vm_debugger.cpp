// The gdb stub's target over the VM (vm_debugger.hpp).
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

using gdb::BreakpointType;
using gdb::InsertResult;
using gdb::ResumeAction;
using gdb::StopEvent;

namespace {
constexpr std::chrono::milliseconds kParkTimeout {5000};
constexpr std::uint8_t kInt3 = 0xcc;
constexpr std::uint8_t kSigTrap = 5;
constexpr std::uint8_t kSigInt = 2;
constexpr std::uint64_t kPageSize = 4096;
// Intel SDM vol 3 §18.2.3 "Debug Status Register (DR6)": B0-B3 and BS (single step).
constexpr std::uint64_t kDr6Bs = 1u << 14;
// §18.2.4 "Debug Control Register (DR7)": bit 10 reads as 1, GE (bit 9) for exact data hits.
constexpr std::uint64_t kDr7Reserved = 1u << 10;
constexpr std::uint64_t kDr7Ge = 1u << 9;
constexpr std::uint64_t kEferLma = 1u << 10;

// DR7's R/Wn and LENn fields for a slot (§18.2.4): R/W 00 execute, 01 write, 11 read or write;
// LEN 00 one byte, 01 two, 11 four, 10 eight.
std::uint64_t dr7_bits(unsigned slot, BreakpointType type, std::uint64_t length)
{
    const std::uint64_t rw = type == BreakpointType::Hardware ? 0 : type == BreakpointType::WriteWatch ? 1 : 3;
    const std::uint64_t len = type == BreakpointType::Hardware ? 0
        : length == 1                                          ? 0
        : length == 2                                          ? 1
        : length == 4                                          ? 3
                                                               : 2;
    return (1ull << (slot * 2)) | (rw << (16 + slot * 4)) | (len << (18 + slot * 4));
}

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
        if (running == Running::Step && (exit.dr6 & kDr6Bs)) {
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
            if (!event && running == Running::WatchStep && (exit.dr6 & kDr6Bs)) {
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

std::optional<std::uint64_t> VmDebugger::changed_watch(kvm::VcpuFd& vcpu)
{
    for (EmulatedWatch& watch : m_watches) {
        std::array<std::uint8_t, 8> now {};
        if (access_memory(vcpu, watch.address, std::span(now).first(watch.length), false) != watch.length)
            continue;
        if (std::memcmp(now.data(), watch.value.data(), watch.length) != 0) {
            watch.value = now;
            return watch.address;
        }
    }
    return std::nullopt;
}

void VmDebugger::refresh_watches()
{
    if (m_runners.empty())
        return;
    for (EmulatedWatch& watch : m_watches)
        (void)access_memory(vcpu_fd(0), watch.address, std::span(watch.value).first(watch.length), false);
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

kvm_guest_debug VmDebugger::guest_debug_for(Running running) const
{
    kvm_guest_debug debug {};
    if (!m_software.empty())
        debug.control |= KVM_GUESTDBG_USE_SW_BP;
    std::uint64_t dr7 = 0;
    for (unsigned slot = 0; slot < m_slots.size(); ++slot) {
        if (!m_slots[slot].used)
            continue;
        debug.arch.debugreg[slot] = m_slots[slot].address;
        dr7 |= dr7_bits(slot, m_slots[slot].type, m_slots[slot].length);
    }
    if (dr7) {
        debug.control |= KVM_GUESTDBG_USE_HW_BP;
        debug.arch.debugreg[7] = dr7 | kDr7Reserved | kDr7Ge;
    }
    if (running == Running::Step || running == Running::WatchStep)
        debug.control |= KVM_GUESTDBG_SINGLESTEP;
    if (debug.control)
        debug.control |= KVM_GUESTDBG_ENABLE;
    return debug;
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

// ---- gdb's thread: registers and memory of a parked vCPU ----

gdb::CpuMode VmDebugger::cpu_mode(unsigned vcpu)
{
    if (m_architecture == DebugArchitecture::Always64)
        return gdb::CpuMode::Long64;
    try {
        return (vcpu_fd(vcpu).get_sregs().efer & kEferLma) ? gdb::CpuMode::Long64 : gdb::CpuMode::Protected32;
    } catch (const std::exception&) {
        return gdb::CpuMode::Protected32;
    }
}

std::optional<gdb::X86Registers> VmDebugger::read_registers(unsigned vcpu)
{
    try {
        kvm::VcpuFd& fd = vcpu_fd(vcpu);
        const kvm_regs regs = fd.get_regs();
        const kvm_sregs sregs = fd.get_sregs();
        gdb::X86Registers r;
        r.gpr = {regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.rsp, regs.r8, regs.r9,
            regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15};
        r.rip = regs.rip;
        r.eflags = static_cast<std::uint32_t>(regs.rflags);
        r.segments = {sregs.cs.selector, sregs.ss.selector, sregs.ds.selector, sregs.es.selector, sregs.fs.selector,
            sregs.gs.selector};
        r.fs_base = sregs.fs.base;
        r.gs_base = sregs.gs.base;
        r.control = {sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4, sregs.cr8, sregs.efer};
        kvm_fpu fpu {};
        if (fd.get_fpu(fpu)) {
            for (unsigned i = 0; i < 8; ++i)
                std::memcpy(r.st[i].data(), fpu.fpr[i], 10);
            r.x87_control = {fpu.fcw, fpu.fsw, fpu.ftwx, 0u, static_cast<std::uint32_t>(fpu.last_ip), 0u,
                static_cast<std::uint32_t>(fpu.last_dp), fpu.last_opcode};
            for (unsigned i = 0; i < 16; ++i)
                std::memcpy(r.xmm[i].data(), fpu.xmm[i], 16);
            r.mxcsr = fpu.mxcsr;
        }
        return r;
    } catch (const std::exception& error) {
        fmt::print(stderr, "minivmm: gdb: {}\n", error.what());
        return std::nullopt;
    }
}

bool VmDebugger::write_registers(unsigned vcpu, const gdb::X86Registers& r)
{
    try {
        kvm::VcpuFd& fd = vcpu_fd(vcpu);
        kvm_regs regs = fd.get_regs();
        regs.rax = r.gpr[0];
        regs.rbx = r.gpr[1];
        regs.rcx = r.gpr[2];
        regs.rdx = r.gpr[3];
        regs.rsi = r.gpr[4];
        regs.rdi = r.gpr[5];
        regs.rbp = r.gpr[6];
        regs.rsp = r.gpr[7];
        regs.r8 = r.gpr[8];
        regs.r9 = r.gpr[9];
        regs.r10 = r.gpr[10];
        regs.r11 = r.gpr[11];
        regs.r12 = r.gpr[12];
        regs.r13 = r.gpr[13];
        regs.r14 = r.gpr[14];
        regs.r15 = r.gpr[15];
        regs.rip = r.rip;
        regs.rflags = r.eflags | 0x2; // bit 1 is always 1 (SDM vol 1 §3.4.3 "EFLAGS Register")
        fd.set_regs(regs);
        return true;
    } catch (const std::exception& error) {
        fmt::print(stderr, "minivmm: gdb: {}\n", error.what());
        return false;
    }
}

std::size_t VmDebugger::access_memory(kvm::VcpuFd& vcpu, std::uint64_t address, std::span<std::uint8_t> buffer, bool write)
{
    // Page by page through the vCPU's own translation (KVM_TRANSLATE honours its CR3 and paging
    // mode), so every page is checked on its own and a range stops at the first unmapped one.
    std::size_t done = 0;
    while (done < buffer.size()) {
        const std::uint64_t linear = address + done;
        if (linear < address)
            break; // wrapped around the address space
        const std::size_t chunk = std::min<std::uint64_t>(buffer.size() - done, kPageSize - (linear % kPageSize));
        std::uint64_t physical = 0;
        if (!vcpu.translate(linear, physical))
            break;
        const auto part = buffer.subspan(done, chunk);
        if (!(write ? m_memory.write(physical, part) : m_memory.read(physical, part)))
            break;
        done += chunk;
    }
    return done;
}

std::size_t VmDebugger::read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out)
{
    if (vcpu >= vcpu_count())
        return 0;
    const std::size_t got = access_memory(vcpu_fd(vcpu), address, out, false);
    // Our int3s are invisible to gdb: it sees the bytes it would have without them.
    std::lock_guard lock(m_mutex);
    for (const auto& [linear, breakpoint] : m_software)
        if (linear >= address && linear - address < got)
            out[linear - address] = breakpoint.original;
    return got;
}

std::size_t VmDebugger::write_memory(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> data)
{
    if (vcpu >= vcpu_count())
        return 0;
    std::vector<std::uint8_t> copy(data.begin(), data.end());
    std::lock_guard lock(m_mutex);
    // A write over one of our int3s changes what it restores, and the int3 stays.
    for (auto& [linear, breakpoint] : m_software) {
        if (linear >= address && linear - address < copy.size()) {
            breakpoint.original = copy[linear - address];
            copy[linear - address] = kInt3;
        }
    }
    const std::size_t written = access_memory(vcpu_fd(vcpu), address, copy, true);
    refresh_watches();
    return written;
}

gdb::InsertResult VmDebugger::insert_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length)
{
    std::lock_guard lock(m_mutex);
    if (type == BreakpointType::Software) {
        if (m_software.contains(address))
            return InsertResult::Ok;
        std::uint64_t physical = 0;
        std::uint8_t original = 0;
        if (!vcpu_fd(0).translate(address, physical) || !m_memory.read(physical, std::span(&original, 1)))
            return InsertResult::Error;
        const std::uint8_t int3 = kInt3;
        if (!m_memory.write(physical, std::span(&int3, 1)))
            return InsertResult::Error;
        m_software.emplace(address, SoftwareBreakpoint {physical, original});
        return InsertResult::Ok;
    }
    if (type == BreakpointType::ReadWatch)
        return InsertResult::Unsupported; // x86 debug registers have no read-only condition (§18.2.4)
    const bool data = type != BreakpointType::Hardware;
    if (data && !m_host.data_breakpoints) {
        // Emulated by stepping: writes only, at most 8 bytes, at most 4 like the real thing.
        if (type != BreakpointType::WriteWatch)
            return InsertResult::Unsupported;
        if (length == 0 || length > 8 || m_watches.size() >= 4)
            return InsertResult::Error;
        EmulatedWatch watch {address, length};
        if (m_runners.empty() || access_memory(vcpu_fd(0), address, std::span(watch.value).first(length), false) != length)
            return InsertResult::Error;
        m_watches.push_back(watch);
        return InsertResult::Ok;
    }
    if (data && ((length != 1 && length != 2 && length != 4 && length != 8) || address % length != 0))
        return InsertResult::Error; // §18.2.5: a data breakpoint covers an aligned 1, 2, 4 or 8 bytes
    for (DebugRegisterSlot& slot : m_slots) {
        if (!slot.used) {
            slot = {true, type, address, data ? length : 1};
            return InsertResult::Ok;
        }
    }
    return InsertResult::Error; // all four debug registers in use
}

gdb::InsertResult VmDebugger::remove_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length)
{
    std::lock_guard lock(m_mutex);
    if (type == BreakpointType::Software) {
        const auto found = m_software.find(address);
        if (found == m_software.end())
            return InsertResult::Ok;
        const std::uint8_t original = found->second.original;
        (void)m_memory.write(found->second.physical, std::span(&original, 1));
        m_software.erase(found);
        return InsertResult::Ok;
    }
    if (type == BreakpointType::ReadWatch)
        return InsertResult::Unsupported;
    if (type != BreakpointType::Hardware && !m_host.data_breakpoints) {
        if (type != BreakpointType::WriteWatch)
            return InsertResult::Unsupported;
        std::erase_if(m_watches, [&](const EmulatedWatch& w) { return w.address == address && w.length == length; });
        return InsertResult::Ok;
    }
    for (DebugRegisterSlot& slot : m_slots)
        if (slot.used && slot.type == type && slot.address == address)
            slot = {};
    return InsertResult::Ok;
}

} // namespace minivmm::vm
