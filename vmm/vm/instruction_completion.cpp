#include "vmm/vm/instruction_completion.hpp"

#include <cstdint>

namespace minivmm::vm {

namespace {
constexpr std::uint8_t kInt3Opcode = 0xcc;
constexpr std::uint8_t kFwaitOpcode = 0x9b;
constexpr std::uint8_t kVectorBreakpoint = 3;      // #BP
constexpr std::uint8_t kVectorDeviceNotAvailable = 7; // #NM
constexpr std::uint8_t kVectorFloatingPointError = 16; // #MF
constexpr std::uint64_t kCr0Mp = 1u << 1;
constexpr std::uint64_t kCr0Ts = 1u << 3;
constexpr std::uint64_t kCr0Ne = 1u << 5;
constexpr std::uint16_t kFswErrorSummary = 1u << 7;

void inject_exception(kvm::VcpuFd& vcpu, std::uint8_t vector)
{
    kvm_vcpu_events events = vcpu.get_events();
    events.exception.injected = 1;
    events.exception.nr = vector;
    events.exception.has_error_code = 0;
    events.exception.error_code = 0;
    events.flags = 0; // keep NMI, SIPI and interrupt-shadow state as they are
    vcpu.set_events(events);
}

void skip_one_byte(kvm::VcpuFd& vcpu, kvm_regs regs)
{
    regs.rip += 1;
    vcpu.set_regs(regs);
}

// Intel SDM vol. 2A, "INT n/INTO/INT3": #BP is a trap; the saved RIP is the next instruction.
void complete_int3(kvm::VcpuFd& vcpu, const kvm_regs& regs)
{
    skip_one_byte(vcpu, regs);
    inject_exception(vcpu, kVectorBreakpoint);
}

// Intel SDM vol. 2A, "WAIT/FWAIT": #NM when CR0.MP and CR0.TS are both set; otherwise a pending
// unmasked x87 exception (FSW.ES) is delivered as #MF (CR0.NE = 1, the only mode x86-64 kernels
// use) before the instruction completes; otherwise it does nothing. Both exceptions are faults:
// RIP stays at the fwait.
bool complete_fwait(kvm::VcpuFd& vcpu, const kvm_regs& regs, const kvm_sregs& sregs)
{
    if ((sregs.cr0 & kCr0Mp) && (sregs.cr0 & kCr0Ts)) {
        inject_exception(vcpu, kVectorDeviceNotAvailable);
        return true;
    }
    kvm_fpu fpu {};
    if (!vcpu.get_fpu(fpu))
        return false;
    if (fpu.fsw & kFswErrorSummary) {
        if (!(sregs.cr0 & kCr0Ne))
            return false; // legacy FERR# signalling through the PIC: not ours to emulate
        inject_exception(vcpu, kVectorFloatingPointError);
        return true;
    }
    skip_one_byte(vcpu, regs);
    return true;
}
} // namespace

std::string_view complete_instruction(kvm::VcpuFd& vcpu, const GuestMemory& memory)
{
    const kvm_regs regs = vcpu.get_regs();
    const kvm_sregs sregs = vcpu.get_sregs();
    std::uint64_t physical = 0;
    if (!vcpu.translate(sregs.cs.base + regs.rip, physical))
        return {};
    const auto opcode = memory.read_obj<std::uint8_t>(physical);
    if (!opcode)
        return {};
    switch (*opcode) {
    case kInt3Opcode:
        complete_int3(vcpu, regs);
        return "int3";
    case kFwaitOpcode:
        return complete_fwait(vcpu, regs, sregs) ? "fwait" : std::string_view {};
    default:
        return {};
    }
}

} // namespace minivmm::vm
