// The gdb stub's registers of a parked vCPU (vm_debugger.hpp; "Debugging with GDB" appendix E.3
// `g`/`G`/`p`/`P`): read through KVM_GET_REGS / KVM_GET_SREGS / KVM_GET_FPU, written back through
// the matching SET calls. A written segment selector loads its descriptor as the CPU would
// (segment_descriptor.hpp); anything the CPU would refuse to load is refused before any state
// changes, so a rejected write leaves the vCPU exactly as it was.
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/segment_descriptor.hpp"
#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

namespace {
constexpr std::uint64_t kCr0Pe = 1u << 0;         // SDM vol 3 §2.5 "Control Registers"
constexpr std::uint64_t kEferLma = 1u << 10;      // SDM vol 3 §2.2.1 "Extended Feature Enable Register"
constexpr std::uint32_t kEflagsVm = 1u << 17;     // SDM vol 1 §3.4.3.3 "System Flags and IOPL Field"
constexpr std::uint32_t kEflagsFixedOne = 1u << 1; // SDM vol 1 §3.4.3 "EFLAGS Register": always 1
// SDM vol 1 §10.2.3.1 "Checking for the DAZ Flag": bits 16-31 of MXCSR are reserved, and a
// non-zero reserved bit makes FXRSTOR/XRSTOR fault: refused rather than handed to the host.
constexpr std::uint32_t kMxcsrReserved = 0xffff0000u;

enum SegmentIndex : unsigned { Cs, Ss, Ds, Es, Fs, Gs }; // gdb's order (X86Registers::segments)

kvm_segment& segment_of(kvm_sregs& sregs, unsigned index)
{
    kvm_segment* segments[] = {&sregs.cs, &sregs.ss, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs};
    return *segments[index];
}

void store(kvm_segment& segment, std::uint16_t selector, const SegmentDescriptor& d)
{
    segment.selector = selector;
    segment.base = d.base;
    segment.limit = d.limit;
    segment.type = d.type;
    segment.s = d.s;
    segment.dpl = d.dpl;
    segment.present = d.present;
    segment.avl = d.avl;
    segment.l = d.l;
    segment.db = d.db;
    segment.g = d.g;
    segment.unusable = 0;
}

// SDM vol 3 §5.5 "Privilege Levels" / the MOV and POP descriptions' "Protected Mode Exceptions":
// what a load of this descriptor into `index` requires. Empty when the CPU would load it.
std::string load_refusal(unsigned index, const SegmentDescriptor& d)
{
    constexpr std::uint8_t kCode = 0x8, kReadableOrWritable = 0x2;
    if (!d.s)
        return "a system descriptor, not code or data";
    if (!d.present)
        return "a descriptor marked not present";
    const bool code = d.type & kCode;
    if (index == Cs && !code)
        return "a data segment for CS";
    if (index == Ss && (code || !(d.type & kReadableOrWritable)))
        return "not a writable data segment for SS";
    if (index != Cs && index != Ss && code && !(d.type & kReadableOrWritable))
        return "an execute-only code segment for a data register";
    return {};
}
} // namespace

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
            // KVM's FPU state has no segment parts for the last instruction and operand pointers
            // (fiseg, foseg): they read as 0 and cannot be written (x86_register_layout.hpp).
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

std::string VmDebugger::load_segment(kvm::VcpuFd& vcpu, kvm_sregs& sregs, std::uint32_t eflags, unsigned index,
    std::uint32_t value)
{
    kvm_segment& segment = segment_of(sregs, index);
    if (value > 0xffff)
        return fmt::format("selector {:#x} is wider than 16 bits", value);
    const auto selector = static_cast<std::uint16_t>(value);
    const bool virtual_8086 = eflags & kEflagsVm;
    if (!(sregs.cr0 & kCr0Pe) || virtual_8086) {
        store(segment, selector, real_mode_segment(selector, index == Cs, virtual_8086));
        return {};
    }
    const bool long_mode = sregs.efer & kEferLma;
    if ((selector & ~3u) == 0) {
        // SDM vol 3 §3.4.2 "Segment Selectors": a null selector may be loaded into a data
        // register (which becomes unusable), never into CS, and into SS only in 64-bit mode.
        if (index == Cs || (index == Ss && !long_mode))
            return fmt::format("a null selector cannot be loaded into {}", index == Cs ? "CS" : "SS");
        segment = kvm_segment {};
        segment.selector = selector;
        segment.unusable = 1;
        return {};
    }
    const bool local = selector & 4; // TI: the LDT
    const std::uint64_t table_base = local ? sregs.ldt.base : sregs.gdt.base;
    const std::uint32_t table_limit = local ? sregs.ldt.limit : sregs.gdt.limit;
    if (local && sregs.ldt.unusable)
        return fmt::format("selector {:#x} names the LDT, and none is loaded", selector);
    const auto address = descriptor_address(selector, table_base, table_limit);
    if (!address)
        return fmt::format("selector {:#x} lies beyond the {} limit {:#x}", selector, local ? "LDT" : "GDT", table_limit);
    std::uint64_t raw = 0;
    auto bytes = std::span(reinterpret_cast<std::uint8_t*>(&raw), sizeof raw);
    if (access_memory(vcpu, *address, bytes, false) != bytes.size())
        return fmt::format("the descriptor of selector {:#x} at {:#x} is not mapped", selector, *address);
    const SegmentDescriptor descriptor = decode_segment_descriptor(raw);
    if (const std::string refusal = load_refusal(index, descriptor); !refusal.empty())
        return fmt::format("selector {:#x}: {}", selector, refusal);
    store(segment, selector, descriptor);
    return {};
}

bool VmDebugger::write_registers(unsigned vcpu, const gdb::X86Registers& r)
{
    try {
        kvm::VcpuFd& fd = vcpu_fd(vcpu);
        const auto current = read_registers(vcpu);
        if (!current)
            return false;
        // Everything is checked first, written last: system state (which KVM may still refuse),
        // then the FPU, then the general registers, so a refusal changes nothing.
        const bool system_changed = r.segments != current->segments || r.fs_base != current->fs_base
            || r.gs_base != current->gs_base || r.control != current->control;
        const bool fpu_changed = r.st != current->st || r.x87_control != current->x87_control || r.xmm != current->xmm
            || r.mxcsr != current->mxcsr;

        std::optional<kvm_sregs> sregs;
        if (system_changed) {
            sregs = fd.get_sregs();
            sregs->cr0 = r.control[0];
            sregs->cr2 = r.control[1];
            sregs->cr3 = r.control[2];
            sregs->cr4 = r.control[3];
            sregs->cr8 = r.control[4];
            sregs->efer = r.control[5];
            // Selectors against the new CR0/EFER (a write of both switches modes first), then the
            // bases gdb shows separately, which override what a descriptor load put there.
            for (unsigned i = 0; i < r.segments.size(); ++i) {
                if (r.segments[i] == current->segments[i])
                    continue;
                if (const std::string refusal = load_segment(fd, *sregs, r.eflags, i, r.segments[i]); !refusal.empty()) {
                    fmt::print(stderr, "minivmm: gdb: vCPU {}: {}\n", vcpu, refusal);
                    return false;
                }
            }
            if (r.fs_base != current->fs_base)
                sregs->fs.base = r.fs_base;
            if (r.gs_base != current->gs_base)
                sregs->gs.base = r.gs_base;
        }

        std::optional<kvm_fpu> fpu;
        if (fpu_changed) {
            const auto& x87 = r.x87_control; // fctrl fstat ftag fiseg fioff foseg fooff fop
            if (x87[0] > 0xffff || x87[1] > 0xffff || x87[2] > 0xff || x87[3] != 0 || x87[5] != 0 || x87[7] > 0x7ff
                || (r.mxcsr & kMxcsrReserved)) {
                fmt::print(stderr, "minivmm: gdb: vCPU {}: an x87/SSE value out of its register's range\n", vcpu);
                return false;
            }
            fpu.emplace();
            if (!fd.get_fpu(*fpu)) {
                fmt::print(stderr, "minivmm: gdb: vCPU {}: this host does not expose the FPU state\n", vcpu);
                return false;
            }
            for (unsigned i = 0; i < 8; ++i)
                std::memcpy(fpu->fpr[i], r.st[i].data(), 10);
            fpu->fcw = static_cast<std::uint16_t>(x87[0]);
            fpu->fsw = static_cast<std::uint16_t>(x87[1]);
            fpu->ftwx = static_cast<std::uint8_t>(x87[2]);
            fpu->last_ip = x87[4];
            fpu->last_dp = x87[6];
            fpu->last_opcode = static_cast<std::uint16_t>(x87[7]);
            for (unsigned i = 0; i < 16; ++i)
                std::memcpy(fpu->xmm[i], r.xmm[i].data(), 16);
            fpu->mxcsr = r.mxcsr;
        }

        if (sregs)
            fd.set_sregs(*sregs); // KVM refuses invalid CR/EFER combinations (EINVAL): nothing changed
        if (fpu && !fd.set_fpu(*fpu)) {
            fmt::print(stderr, "minivmm: gdb: vCPU {}: KVM refused the FPU state\n", vcpu);
            return false;
        }
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
        regs.rflags = r.eflags | kEflagsFixedOne;
        fd.set_regs(regs);
        return true;
    } catch (const std::exception& error) {
        fmt::print(stderr, "minivmm: gdb: {}\n", error.what());
        return false;
    }
}

} // namespace minivmm::vm
