#include "vmm/vm/register_dump.hpp"

#include <array>

#include <fmt/format.h>

namespace minivmm::vm {

namespace {
std::string instruction_bytes(const kvm::VcpuFd& vcpu, const GuestMemory& memory, const kvm_regs& regs, const kvm_sregs& sregs)
{
    // Show 8 bytes before RIP and 8 from it, the faulting instruction marked <..>.
    constexpr std::uint64_t kBefore = 8;
    constexpr std::uint64_t kAfter = 8;
    std::string out;
    for (std::uint64_t i = 0; i < kBefore + kAfter; ++i) {
        const std::uint64_t linear = sregs.cs.base + regs.rip - kBefore + i;
        std::uint64_t physical = 0;
        std::string byte = "??";
        if (vcpu.translate(linear, physical)) {
            if (auto value = memory.read_obj<std::uint8_t>(physical))
                byte = fmt::format("{:02x}", *value);
        }
        out += (i == kBefore) ? fmt::format("<{}> ", byte) : byte + " ";
    }
    return out;
}

std::string segment(const char* name, const kvm_segment& s)
{
    return fmt::format("{}={:04x} base={:#x} limit={:#x} type={} l={} db={}", name, s.selector, s.base, s.limit,
        static_cast<int>(s.type), static_cast<int>(s.l), static_cast<int>(s.db));
}
} // namespace

std::string format_vcpu_state(const kvm::VcpuFd& vcpu, const GuestMemory& memory)
{
    kvm_regs regs {};
    kvm_sregs sregs {};
    try {
        regs = vcpu.get_regs();
        sregs = vcpu.get_sregs();
    } catch (const std::exception& error) {
        return fmt::format("  (registers unavailable: {})\n", error.what());
    }
    std::string out;
    out += fmt::format("  rip={:016x} rsp={:016x} rbp={:016x} rflags={:08x}\n", regs.rip, regs.rsp, regs.rbp, regs.rflags);
    out += fmt::format("  rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}\n", regs.rax, regs.rbx, regs.rcx, regs.rdx);
    out += fmt::format("  rsi={:016x} rdi={:016x} r8={:016x}  r9={:016x}\n", regs.rsi, regs.rdi, regs.r8, regs.r9);
    out += fmt::format("  r10={:016x} r11={:016x} r12={:016x} r13={:016x}\n", regs.r10, regs.r11, regs.r12, regs.r13);
    out += fmt::format("  r14={:016x} r15={:016x}\n", regs.r14, regs.r15);
    out += fmt::format("  cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x} efer={:x}\n", sregs.cr0, sregs.cr2, sregs.cr3,
        sregs.cr4, sregs.efer);
    out += fmt::format("  {}\n  {}\n", segment("cs", sregs.cs), segment("ss", sregs.ss));
    out += fmt::format("  gdt base={:#x} limit={:#x}  idt base={:#x} limit={:#x}\n", sregs.gdt.base, sregs.gdt.limit,
        sregs.idt.base, sregs.idt.limit);
    out += fmt::format("  code at rip: {}\n", instruction_bytes(vcpu, memory, regs, sregs));
    return out;
}

} // namespace minivmm::vm
