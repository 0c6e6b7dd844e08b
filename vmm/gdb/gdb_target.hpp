// GdbTarget: what the gdb stub needs from the machine it debugs, as an abstract interface, so
// that the protocol (gdb_session.hpp) is tested against a fake and knows nothing of KVM. The
// machine is x86; threads are vCPUs, numbered from 0 here (gdb's thread ids are index + 1,
// "Debugging with GDB" appendix E.1, "thread-id syntax": 0 and -1 have special meanings).
// Every call except interrupt() is made while the whole machine is stopped (all-stop mode, E.10
// "Stop Reply Packets" and "Debugging with GDB" §5.5.1 "All-Stop Mode").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace minivmm::gdb {

// The guest's register state, in the widest form (64-bit); the session picks the layout that
// matches the guest's mode (x86_registers.hpp). Order and names follow gdb's amd64 core feature.
struct X86Registers {
    std::array<std::uint64_t, 16> gpr {}; // rax rbx rcx rdx rsi rdi rbp rsp r8..r15
    std::uint64_t rip = 0;
    std::uint32_t eflags = 0;
    std::array<std::uint32_t, 6> segments {}; // selectors: cs ss ds es fs gs
    std::uint64_t fs_base = 0;
    std::uint64_t gs_base = 0;
    // Control registers (minivmm's own target-description feature): cr0 cr2 cr3 cr4 cr8 efer.
    std::array<std::uint64_t, 6> control {};
    // x87 and SSE as KVM_GET_FPU gives them (zero where the host does not expose them).
    std::array<std::array<std::uint8_t, 10>, 8> st {};
    std::array<std::uint32_t, 8> x87_control {}; // fctrl fstat ftag fiseg fioff foseg fooff fop
    std::array<std::array<std::uint8_t, 16>, 16> xmm {};
    std::uint32_t mxcsr = 0;
};

enum class GprIndex : unsigned { Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp };

// How the guest executes, which decides the target description and register layout.
enum class CpuMode { Protected32, Long64 };

// E.3 "Packets", `Z type,addr,kind`.
enum class BreakpointType { Software = 0, Hardware = 1, WriteWatch = 2, ReadWatch = 3, AccessWatch = 4 };

enum class InsertResult { Ok, Error, Unsupported };

// Why the machine stopped (E.3 "Stop Reply Packets", `T AA n1:r1;...`).
struct StopEvent {
    enum class Kind {
        Signal,        // a plain stop: Ctrl-C (SIGINT) or the first stop at attach (SIGTRAP)
        Step,          // a single step ended (SIGTRAP)
        SoftwareBreak, // our int3 (`swbreak`): the PC is at the breakpoint address
        HardwareBreak, // a debug register's execute breakpoint (`hwbreak`)
        Watch,         // a data watchpoint (`watch`, `rwatch` or `awatch` with the address)
        Exited,        // the VM ended: `W` with its exit status
        Killed,        // the VM ended some other way (crash, signal, timeout): `X09`
    };
    Kind kind = Kind::Signal;
    unsigned vcpu = 0;
    std::uint8_t signal = 5; // SIGTRAP; SIGINT (2) after Ctrl-C
    BreakpointType watch_type = BreakpointType::WriteWatch;
    std::uint64_t watch_address = 0;
    std::uint8_t exit_status = 0;
};

// What one vCPU does when the machine resumes (`vCont` actions).
enum class ResumeAction { Stay, Continue, Step };

class GdbTarget {
public:
    virtual ~GdbTarget() = default;

    [[nodiscard]] virtual unsigned vcpu_count() const = 0;
    [[nodiscard]] virtual CpuMode cpu_mode(unsigned vcpu) = 0;
    // nullopt when the registers cannot be read (a host failure, reported to gdb as an error).
    [[nodiscard]] virtual std::optional<X86Registers> read_registers(unsigned vcpu) = 0;
    // Writes every register that differs from read_registers(); a changed segment selector loads
    // its descriptor as the CPU would. False, with nothing changed, when the CPU or the host
    // would refuse a value.
    [[nodiscard]] virtual bool write_registers(unsigned vcpu, const X86Registers& registers) = 0;
    // Guest-virtual memory through the vCPU's page tables. Returns how many bytes from the start
    // were read or written (fewer at the first unmapped page).
    [[nodiscard]] virtual std::size_t read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out) = 0;
    [[nodiscard]] virtual std::size_t write_memory(unsigned vcpu, std::uint64_t address,
        std::span<const std::uint8_t> data) = 0;
    [[nodiscard]] virtual InsertResult insert_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length) = 0;
    [[nodiscard]] virtual InsertResult remove_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length) = 0;
    // Lets the machine run, each vCPU as `actions[vcpu]` says; a stop is then reported later.
    virtual void resume(std::span<const ResumeAction> actions) = 0;
    // gdb left (`D`, or the connection closed): every breakpoint removed, the guest runs on.
    virtual void detach() = 0;
    // `k`: the VM ends.
    virtual void kill() = 0;

    // ---- Run control, for the server (gdb_server.hpp) ----
    // gdb connected: stops every vCPU (or finds them held by --gdb-wait) and says where.
    [[nodiscard]] virtual StopEvent attach() = 0;
    // Readable (an eventfd) when a stop happened after resume(), or the VM ended.
    [[nodiscard]] virtual int stop_event_fd() const = 0;
    // After stop_event_fd() was readable: the stop, once every vCPU has stopped; nullopt when
    // nothing stopped (a stale wake-up).
    [[nodiscard]] virtual std::optional<StopEvent> take_stop() = 0;
    // Ctrl-C (E.8 "Interrupts"): stops every vCPU; the stop (SIGINT, reported for `vcpu`)
    // arrives through stop_event_fd().
    virtual void interrupt(unsigned vcpu) = 0;
    // How the VM ended (Exited or Killed); nullopt while it runs.
    [[nodiscard]] virtual std::optional<StopEvent> ended() const = 0;
};

} // namespace minivmm::gdb
