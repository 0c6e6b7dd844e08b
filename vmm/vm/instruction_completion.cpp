#include "vmm/vm/instruction_completion.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

namespace minivmm::vm {

namespace {
constexpr std::uint8_t kVectorDeviceNotAvailable = 7;  // #NM
constexpr std::uint8_t kVectorUndefinedOpcode = 6;     // #UD
constexpr std::uint8_t kVectorGeneralProtection = 13;  // #GP
constexpr std::uint8_t kVectorBreakpoint = 3;          // #BP
constexpr std::uint8_t kVectorFloatingPointError = 16; // #MF
constexpr std::uint64_t kCr0Mp = 1u << 1;
constexpr std::uint64_t kCr0Em = 1u << 2;
constexpr std::uint64_t kCr0Ts = 1u << 3;
constexpr std::uint64_t kCr0Ne = 1u << 5;
constexpr std::uint64_t kCr4Osfxsr = 1u << 9;
constexpr std::uint16_t kFswErrorSummary = 1u << 7;
// MXCSR bits a guest may set (SDM vol. 1 §10.2.3 "MXCSR Control and Status Register", with DAZ):
// writing any other bit raises #GP(0).
constexpr std::uint32_t kMxcsrWritable = 0xffff;
constexpr std::size_t kMaxInstructionLength = 15; // SDM vol. 2A §2.3.11

// The instruction bytes at the guest's RIP, read through the vCPU's paging one byte at a time
// (an instruction may straddle a page); shorter when a byte is not mapped.
struct FetchedBytes {
    std::array<std::uint8_t, kMaxInstructionLength> bytes {};
    std::size_t size = 0;
};

FetchedBytes fetch(const kvm::VcpuFd& vcpu, const GuestMemory& memory, std::uint64_t linear)
{
    FetchedBytes fetched;
    for (; fetched.size < kMaxInstructionLength; ++fetched.size) {
        std::uint64_t physical = 0;
        if (!vcpu.translate(linear + fetched.size, physical))
            break;
        const auto byte = memory.read_obj<std::uint8_t>(physical);
        if (!byte)
            break;
        fetched.bytes[fetched.size] = *byte;
    }
    return fetched;
}

void inject_exception(kvm::VcpuFd& vcpu, std::uint8_t vector, std::optional<std::uint32_t> error_code = {})
{
    kvm_vcpu_events events = vcpu.get_events();
    events.exception.injected = 1;
    events.exception.nr = vector;
    events.exception.has_error_code = error_code.has_value();
    events.exception.error_code = error_code.value_or(0);
    events.flags = 0; // keep NMI, SIPI and interrupt-shadow state as they are
    vcpu.set_events(events);
}

void advance(kvm::VcpuFd& vcpu, kvm_regs regs, std::size_t length)
{
    regs.rip += length;
    vcpu.set_regs(regs);
}

std::uint64_t register_value(const kvm_regs& regs, unsigned number)
{
    // SDM vol. 2A §2.1.5 "Addressing-Mode Encoding of ModR/M and SIB Bytes": register numbers.
    const std::uint64_t values[16] = {regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp, regs.rsi, regs.rdi,
        regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15};
    return values[number & 15];
}

// A decoded `0F AE /r` with a memory operand (SDM vol. 2A §2.1, 64-bit and 32-bit code).
struct MemoryOperandInstruction {
    unsigned reg = 0;             // ModRM.reg: the /digit that selects the instruction
    std::uint64_t linear = 0;     // the operand's linear address
    std::size_t length = 0;       // the whole instruction
};

std::optional<MemoryOperandInstruction> decode_0fae(const FetchedBytes& code, const kvm_regs& regs, const kvm_sregs& sregs)
{
    const bool long_mode = sregs.cs.l;
    if (!long_mode && !sregs.cs.db)
        return std::nullopt; // 16-bit code: not ours to decode
    unsigned address_bits = long_mode ? 64 : 32;
    std::size_t at = 0;
    std::optional<std::uint64_t> segment_base;
    std::uint8_t rex = 0;
    // Legacy prefixes (SDM vol. 2A §2.1.1), then REX in 64-bit mode (§2.2.1).
    for (; at < code.size; ++at) {
        const std::uint8_t byte = code.bytes[at];
        if (byte == 0x67) {
            address_bits = long_mode ? 32 : 16;
        } else if (byte == 0x64) {
            segment_base = sregs.fs.base;
        } else if (byte == 0x65) {
            segment_base = sregs.gs.base;
        } else if (byte == 0x2e || byte == 0x36 || byte == 0x3e || byte == 0x26) {
            if (!long_mode) {
                const kvm_segment* segments[] = {&sregs.es, &sregs.cs, &sregs.ss, &sregs.ds};
                segment_base = segments[(byte >> 3) & 3]->base;
            }
        } else if (byte == 0x66 || byte == 0xf2 || byte == 0xf3 || byte == 0xf0) {
            return std::nullopt; // these turn 0F AE into other instructions
        } else {
            break;
        }
    }
    if (address_bits == 16)
        return std::nullopt;
    if (long_mode && at < code.size && (code.bytes[at] & 0xf0) == 0x40)
        rex = code.bytes[at++];
    if (at + 3 > code.size || code.bytes[at] != 0x0f || code.bytes[at + 1] != 0xae)
        return std::nullopt;
    at += 2;
    const std::uint8_t modrm = code.bytes[at++];
    const unsigned mod = modrm >> 6;
    const unsigned reg = (modrm >> 3) & 7;
    unsigned rm = modrm & 7;
    if (mod == 3)
        return std::nullopt; // register forms are fences, not memory instructions
    std::uint64_t address = 0;
    bool rip_relative = false;
    bool stack_default = false;
    if (rm == 4) { // SIB follows
        if (at >= code.size)
            return std::nullopt;
        const std::uint8_t sib = code.bytes[at++];
        const unsigned scale = sib >> 6;
        const unsigned index = ((sib >> 3) & 7) | ((rex & 0x2) << 2);
        const unsigned base = (sib & 7) | ((rex & 0x1) << 3);
        if (index != 4)
            address += register_value(regs, index) << scale;
        if ((sib & 7) == 5 && mod == 0) {
            if (at + 4 > code.size)
                return std::nullopt;
            std::int32_t displacement;
            std::memcpy(&displacement, &code.bytes[at], 4);
            at += 4;
            address += static_cast<std::uint64_t>(static_cast<std::int64_t>(displacement));
        } else {
            address += register_value(regs, base);
            stack_default = (base & 7) == 4 || (base & 7) == 5;
        }
    } else if (rm == 5 && mod == 0) {
        rip_relative = long_mode; // 64-bit: RIP + disp32; 32-bit: disp32 alone
    } else {
        rm |= (rex & 0x1) << 3;
        address += register_value(regs, rm);
        stack_default = (rm & 7) == 5; // [rbp+disp] uses SS
    }
    std::int64_t displacement = 0;
    if (mod == 1) {
        if (at + 1 > code.size)
            return std::nullopt;
        displacement = static_cast<std::int8_t>(code.bytes[at++]);
    } else if (mod == 2 || (mod == 0 && rm == 5)) {
        if (at + 4 > code.size)
            return std::nullopt;
        std::int32_t value;
        std::memcpy(&value, &code.bytes[at], 4);
        at += 4;
        displacement = value;
    }
    address += static_cast<std::uint64_t>(displacement);
    if (rip_relative)
        address += regs.rip + at; // relative to the next instruction
    if (address_bits == 32)
        address &= 0xffffffffu;
    // Segment bases apply outside 64-bit mode (there only FS and GS have one).
    if (segment_base)
        address += *segment_base;
    else if (!long_mode)
        address += stack_default ? sregs.ss.base : sregs.ds.base;
    return MemoryOperandInstruction {reg, address, at};
}

// Intel SDM vol. 2A, "INT n/INTO/INT3": #BP is a trap; the saved RIP is the next instruction.
CompletionResult complete_int3(kvm::VcpuFd& vcpu, const kvm_regs& regs)
{
    advance(vcpu, regs, 1);
    inject_exception(vcpu, kVectorBreakpoint);
    return {Completion::Completed, "int3"};
}

// Intel SDM vol. 2A, "WAIT/FWAIT": #NM when CR0.MP and CR0.TS are both set; otherwise a pending
// unmasked x87 exception (FSW.ES) is delivered as #MF (CR0.NE = 1, the only mode x86-64 kernels
// use) before the instruction completes; otherwise it does nothing. Both exceptions are faults:
// RIP stays at the fwait.
CompletionResult complete_fwait(kvm::VcpuFd& vcpu, const kvm_regs& regs, const kvm_sregs& sregs)
{
    if ((sregs.cr0 & kCr0Mp) && (sregs.cr0 & kCr0Ts)) {
        inject_exception(vcpu, kVectorDeviceNotAvailable);
        return {Completion::Completed, "fwait"};
    }
    kvm_fpu fpu {};
    if (!vcpu.get_fpu(fpu))
        return {};
    if (fpu.fsw & kFswErrorSummary) {
        if (!(sregs.cr0 & kCr0Ne))
            return {}; // legacy FERR# signalling through the PIC: not ours to emulate
        inject_exception(vcpu, kVectorFloatingPointError);
        return {Completion::Completed, "fwait"};
    }
    advance(vcpu, regs, 1);
    return {Completion::Completed, "fwait"};
}

// Intel SDM vol. 2B, "LDMXCSR" / "STMXCSR" (0F AE /2, /3): #UD when CR0.EM or not CR4.OSFXSR, #NM
// when CR0.TS; LDMXCSR raises #GP(0) for a reserved bit. A memory operand the VMM cannot reach
// (not RAM, not mapped, read-only for a store) is left to the failure report.
CompletionResult complete_mxcsr(kvm::VcpuFd& vcpu, const GuestMemory& memory, const kvm_regs& regs,
    const kvm_sregs& sregs, const MemoryOperandInstruction& instruction, CompletionState& state)
{
    const bool load = instruction.reg == 2;
    const std::string_view name = load ? "ldmxcsr" : "stmxcsr";
    if ((sregs.cr0 & kCr0Em) || !(sregs.cr4 & kCr4Osfxsr)) {
        inject_exception(vcpu, kVectorUndefinedOpcode);
        return {Completion::Completed, name};
    }
    if (sregs.cr0 & kCr0Ts) {
        inject_exception(vcpu, kVectorDeviceNotAvailable);
        return {Completion::Completed, name};
    }
    kvm_translation translation {};
    std::uint64_t physical = 0;
    if (!vcpu.translate(instruction.linear, physical, &translation))
        return {};
    if ((instruction.linear & 0xfff) > 0x1000 - 4)
        return {}; // the operand straddles a page: leave it to the report
    if (load) {
        const auto value = memory.read_obj<std::uint32_t>(physical);
        if (!value)
            return {};
        if (*value & ~kMxcsrWritable) {
            inject_exception(vcpu, kVectorGeneralProtection, 0);
            return {Completion::Completed, name};
        }
        state.mxcsr = *value;
        // Tell KVM too, for hosts whose FPU state does hold it (best effort: see CompletionState).
        kvm_fpu fpu {};
        if (vcpu.get_fpu(fpu)) {
            fpu.mxcsr = *value;
            (void)vcpu.set_fpu(fpu);
        }
    } else {
        if (!translation.writeable || !memory.write_obj<std::uint32_t>(physical, state.mxcsr))
            return {};
    }
    advance(vcpu, regs, instruction.length);
    return {Completion::Completed, name};
}

// The instruction bytes KVM reported for the failure, when it reported them.
std::optional<std::span<const std::uint8_t>> failed_bytes(std::span<const __u64> data)
{
    if (data.size() < 3 || !(data[0] & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
        return std::nullopt;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&data[1]);
    const std::size_t size = std::min<std::size_t>(bytes[0], kMaxInstructionLength);
    return std::span<const std::uint8_t>(bytes + 1, size);
}
} // namespace

CompletionResult complete_instruction(
    kvm::VcpuFd& vcpu, const GuestMemory& memory, std::span<const __u64> failure_data, CompletionState& state)
{
    const kvm_regs regs = vcpu.get_regs();
    const kvm_sregs sregs = vcpu.get_sregs();
    const FetchedBytes code = fetch(vcpu, memory, sregs.cs.base + regs.rip);
    if (code.size == 0)
        return {};
    // Cross-modifying code: Linux patches kernel text on a live SMP system through a temporary
    // int3 (text_poke_bp). When the bytes KVM failed on are gone, the instruction to run is the
    // new one: let the guest execute it again rather than complete a stale one.
    if (const auto failed = failed_bytes(failure_data); failed && !failed->empty()) {
        const std::size_t compared = std::min(failed->size(), code.size);
        if (std::memcmp(failed->data(), code.bytes.data(), compared) != 0)
            return {Completion::CodeChanged, "code-changed"};
    }
    switch (code.bytes[0]) {
    case 0xcc:
        return complete_int3(vcpu, regs);
    case 0x9b:
        return complete_fwait(vcpu, regs, sregs);
    default:
        break;
    }
    if (const auto instruction = decode_0fae(code, regs, sregs); instruction && (instruction->reg == 2 || instruction->reg == 3))
        return complete_mxcsr(vcpu, memory, regs, sregs, *instruction, state);
    return {};
}

} // namespace minivmm::vm
