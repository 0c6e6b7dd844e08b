#include "vmm/vm/kvm_cpu_state.hpp"

namespace minivmm::vm {

kvm_segment to_kvm_segment(const boot::Segment& segment)
{
    kvm_segment out {};
    out.base = segment.base;
    out.limit = segment.limit;
    out.selector = segment.selector;
    out.type = segment.type;
    out.present = segment.present;
    out.dpl = segment.dpl;
    out.db = segment.db;
    out.s = segment.s;
    out.l = segment.l;
    out.g = segment.g;
    out.avl = segment.avl;
    out.unusable = segment.unusable;
    return out;
}

kvm_sregs apply_entry_sregs(kvm_sregs sregs, const boot::CpuEntryState& entry)
{
    sregs.cs = to_kvm_segment(entry.cs);
    sregs.ds = to_kvm_segment(entry.ds);
    sregs.es = to_kvm_segment(entry.es);
    sregs.fs = to_kvm_segment(entry.fs);
    sregs.gs = to_kvm_segment(entry.gs);
    sregs.ss = to_kvm_segment(entry.ss);
    sregs.tr = to_kvm_segment(entry.tr);
    sregs.ldt = to_kvm_segment(entry.ldt);
    sregs.gdt.base = entry.gdt_base;
    sregs.gdt.limit = entry.gdt_limit;
    sregs.idt.base = entry.idt_base;
    sregs.idt.limit = entry.idt_limit;
    sregs.cr0 = entry.cr0;
    sregs.cr3 = entry.cr3;
    sregs.cr4 = entry.cr4;
    sregs.efer = entry.efer;
    return sregs;
}

kvm_regs entry_regs(const boot::CpuEntryState& entry)
{
    kvm_regs regs {};
    regs.rip = entry.rip;
    regs.rsp = entry.rsp;
    regs.rflags = entry.rflags;
    regs.rsi = entry.rsi;
    regs.rbx = entry.rbx;
    return regs;
}

} // namespace minivmm::vm
