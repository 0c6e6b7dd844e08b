// The gdb stub's view of a parked vCPU (vm_debugger.hpp): its registers through KVM_GET_REGS /
// KVM_GET_SREGS / KVM_GET_FPU, and guest-virtual memory through its page tables (KVM_TRANSLATE).
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

namespace {
constexpr std::uint64_t kPageSize = 4096;
constexpr std::uint64_t kEferLma = 1u << 10; // Intel SDM vol 3 §2.2.1 "Extended Feature Enable Register"
constexpr std::uint8_t kInt3 = 0xcc;
} // namespace

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

} // namespace minivmm::vm
