// VmDebugger: the gdb stub's target (gdb::GdbTarget) over this VM's vCPUs and memory, and the
// vCPU threads' side of debugging. All-stop: a debug event on one vCPU holds every vCPU at the
// DebugBarrier; gdb's thread then reads and writes registers and KVM's guest-debug state of the
// parked vCPUs directly (a vCPU fd's ioctls are valid from any thread while it is not in KVM_RUN).
//
// Guest debugging uses KVM_SET_GUEST_DEBUG (Documentation/virt/kvm/api.rst 4.59): SINGLESTEP for
// `s`, USE_HW_BP with DR0-DR3/DR7 for `Z1`-`Z4` (Intel SDM vol 3 §18.2 "Debug Registers"), and
// USE_SW_BP for the int3s `Z0` writes. Where the host's KVM is software-emulated (kvm_pvm, README
// "Debugging with gdb"), two of them do not work and are replaced: an int3 is an emulation failure
// there, not KVM_EXIT_DEBUG, so the failure at one of our int3s is our breakpoint; and data
// breakpoints never fire, so a write watchpoint is emulated by single-stepping the vCPUs and
// comparing the watched bytes after each instruction (read/access watchpoints are unsupported).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <linux/kvm.h>

#include "vmm/base/event_fd.hpp"
#include "vmm/gdb/gdb_target.hpp"
#include "vmm/kvm/vcpu_fd.hpp"
#include "vmm/kvm/vm_exit.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/vm/debug_barrier.hpp"
#include "vmm/vm/stop_reason.hpp"

namespace minivmm::vm {

class VcpuRunner;

// What the host's KVM can do for a debugger (measured on kvm_pvm; README "Debugging with gdb").
struct DebugHostSupport {
    bool data_breakpoints = true; // DR0-DR3 read/write breakpoints fire (false on kvm_pvm)
};

// Which register layout gdb gets: the guest's mode when gdb attaches, except that a 64-bit
// kernel image is always described as x86-64 (its 32-bit PVH entry code is a moment; gdb reads
// the description once per connection and must match the vmlinux it was given).
enum class DebugArchitecture { FollowMode, Always64 };

class VmDebugger final : public gdb::GdbTarget {
public:
    // `wait_for_gdb` (--gdb-wait): every vCPU is held before its first instruction until gdb
    // attaches and resumes.
    VmDebugger(unsigned vcpus, const GuestMemory& memory, VmStopper& stopper, bool wait_for_gdb, DebugHostSupport host,
        DebugArchitecture architecture);
    // The runners, once made (they live as long as the Vm).
    void set_runners(const std::vector<std::unique_ptr<VcpuRunner>>& runners);

    // ---- vCPU thread side ----
    [[nodiscard]] bool hold_requested(unsigned vcpu) const { return m_barrier.hold_requested(vcpu); }
    void park(unsigned vcpu) { m_barrier.park(vcpu); }
    // KVM_EXIT_DEBUG: a step, a debug-register hit, or an int3 (ours: a stop; the guest's own:
    // re-injected as #BP).
    void on_debug_exit(kvm::VcpuFd& vcpu, const kvm::DebugExit& exit);
    // An emulation failure: true when it is at one of our int3s (the host cannot emulate int3),
    // which is then a breakpoint stop; false for anything else (the runner goes on as usual).
    bool on_emulation_failure(kvm::VcpuFd& vcpu);
    // The VM is ending: parked vCPUs leave, gdb's thread wakes up.
    void release_for_stop();

    // ---- gdb::GdbTarget (gdb's thread) ----
    unsigned vcpu_count() const override { return m_barrier.vcpus(); }
    gdb::CpuMode cpu_mode(unsigned vcpu) override;
    std::optional<gdb::X86Registers> read_registers(unsigned vcpu) override;
    bool write_registers(unsigned vcpu, const gdb::X86Registers& registers) override;
    std::size_t read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out) override;
    std::size_t write_memory(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> data) override;
    gdb::InsertResult insert_breakpoint(gdb::BreakpointType type, std::uint64_t address, std::uint64_t length) override;
    gdb::InsertResult remove_breakpoint(gdb::BreakpointType type, std::uint64_t address, std::uint64_t length) override;
    void resume(std::span<const gdb::ResumeAction> actions) override;
    void detach() override;
    void kill() override;
    gdb::StopEvent attach() override;
    int stop_event_fd() const override { return m_stop_ready.fd(); }
    std::optional<gdb::StopEvent> take_stop() override;
    void interrupt(unsigned vcpu) override;
    std::optional<gdb::StopEvent> ended() const override;

private:
    enum class Running { No, Continue, Step, WatchStep };
    struct SoftwareBreakpoint {
        std::uint64_t physical;
        std::uint8_t original;
    };
    struct DebugRegisterSlot { // one of DR0-DR3
        bool used = false;
        gdb::BreakpointType type = gdb::BreakpointType::Hardware;
        std::uint64_t address = 0;
        std::uint64_t length = 1;
    };
    struct EmulatedWatch {
        std::uint64_t address;
        std::uint64_t length;
        std::array<std::uint8_t, 8> value {};
    };

    void report(unsigned vcpu, const gdb::StopEvent& event);
    void hold_everyone();
    kvm::VcpuFd& vcpu_fd(unsigned vcpu) const;
    std::uint64_t linear_pc(kvm::VcpuFd& vcpu) const;
    std::size_t access_memory(kvm::VcpuFd& vcpu, std::uint64_t address, std::span<std::uint8_t> buffer, bool write);
    // Loads selector `value` into segment register `index` (gdb's order: cs ss ds es fs gs) of
    // `sregs` as the CPU would, reading its descriptor through `vcpu`'s page tables; returns why
    // the CPU would refuse the load, or "" (vm_debugger_registers.cpp).
    std::string load_segment(kvm::VcpuFd& vcpu, kvm_sregs& sregs, std::uint32_t eflags, unsigned index, std::uint32_t value);
    kvm_guest_debug guest_debug_for(Running running) const; // under m_mutex
    std::optional<std::uint64_t> changed_watch(kvm::VcpuFd& vcpu); // under m_mutex
    void refresh_watches(); // under m_mutex

    const GuestMemory& m_memory;
    VmStopper& m_stopper;
    DebugHostSupport m_host;
    DebugArchitecture m_architecture;
    DebugBarrier m_barrier;
    EventFd m_stop_ready;
    std::vector<VcpuRunner*> m_runners;

    mutable std::mutex m_mutex;
    bool m_attached = false;
    bool m_expecting_stop = false;            // resumed; the next event is reported
    std::optional<gdb::StopEvent> m_pending;  // the stop gdb has not taken yet
    std::vector<Running> m_running;           // per vCPU, what the last resume asked
    std::map<std::uint64_t, SoftwareBreakpoint> m_software; // by linear address
    std::array<DebugRegisterSlot, 4> m_slots;
    std::vector<EmulatedWatch> m_watches;
};

} // namespace minivmm::vm
