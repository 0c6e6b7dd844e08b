// Entry register states and the boot GDT/page tables they rely on (see cpu_entry_state.hpp):
// Xen pvh.pandoc "Initial machine state" and Linux boot.rst "64-bit Boot Protocol".
#include "vmm/boot/cpu_entry_state.hpp"

#include <array>
#include <stdexcept>

#include "vmm/memory/memory_layout.hpp"

namespace minivmm::boot {

namespace {

// Descriptor types (Intel SDM vol. 3 §3.4.5.1 "Code- and Data-Segment Descriptor Types" and
// §3.5 "System Descriptor Types"). The accessed bit is preset so the CPU never writes the GDT.
constexpr std::uint8_t kTypeCodeExecReadAccessed = 0xb;
constexpr std::uint8_t kTypeDataReadWriteAccessed = 0x3;
constexpr std::uint8_t kTypeTssBusy = 0xb;
constexpr std::uint8_t kTypeLdt = 0x2;

// The x86 TSS is 104 bytes; PVH asks for exactly this limit.
constexpr std::uint32_t kTssLimit = 0x67;

Segment flat(std::uint16_t selector, std::uint8_t type, std::uint8_t db, std::uint8_t l)
{
    Segment segment;
    segment.base = 0;
    segment.limit = 0xffff'ffff;
    segment.selector = selector;
    segment.type = type;
    segment.present = 1;
    segment.dpl = 0;
    segment.db = db;
    segment.s = 1;
    segment.l = l;
    segment.g = 1;
    return segment;
}

// LDTR as the CPU leaves it at reset: a present, empty LDT. Nothing uses it, but VM entry
// checks a usable LDTR's type, so it must be a valid one.
Segment reset_ldt_segment()
{
    Segment segment;
    segment.limit = 0xffff;
    segment.type = kTypeLdt;
    segment.present = 1;
    return segment;
}

void write_or_throw(const GuestMemory& memory, std::uint64_t address, std::span<const std::uint8_t> bytes,
    const char* what)
{
    // The boot structures sit at fixed low addresses that every guest has (kMinimumRamSize):
    // failing here is our bug, not the user's.
    if (!memory.write(address, bytes))
        throw std::logic_error(std::string("boot: ") + what + " does not fit in guest RAM");
}

} // namespace

Segment flat_code32_segment() { return flat(kSelectorCode32, kTypeCodeExecReadAccessed, 1, 0); }
// A 64-bit code segment must have D = 0 when L = 1 (SDM §5.2.1 "Code-Segment Descriptor in 64-bit Mode").
Segment flat_code64_segment() { return flat(kSelectorCode64, kTypeCodeExecReadAccessed, 0, 1); }
Segment flat_data_segment() { return flat(kSelectorData, kTypeDataReadWriteAccessed, 1, 0); }

Segment boot_tss_segment()
{
    // TSS at address 0 (the real-mode IVT, unused by both kernels): PVH specifies base 0. The
    // kernels load their own TR before anything consults the TSS.
    Segment segment;
    segment.base = 0;
    segment.limit = kTssLimit;
    segment.selector = kSelectorTss;
    segment.type = kTypeTssBusy;
    segment.present = 1;
    return segment;
}

std::uint64_t gdt_descriptor(const Segment& segment)
{
    // With G set the descriptor holds the limit in 4 KiB units.
    const std::uint64_t limit = segment.g ? (segment.limit >> 12) : segment.limit;
    return (limit & 0xffff)
        | ((segment.base & 0xff'ffff) << 16)
        | (std::uint64_t(segment.type & 0xf) << 40)
        | (std::uint64_t(segment.s & 1) << 44)
        | (std::uint64_t(segment.dpl & 3) << 45)
        | (std::uint64_t(segment.present & 1) << 47)
        | (((limit >> 16) & 0xf) << 48)
        | (std::uint64_t(segment.avl & 1) << 52)
        | (std::uint64_t(segment.l & 1) << 53)
        | (std::uint64_t(segment.db & 1) << 54)
        | (std::uint64_t(segment.g & 1) << 55)
        | (((segment.base >> 24) & 0xff) << 56);
}

void write_boot_gdt(const GuestMemory& memory)
{
    std::array<std::uint64_t, kGdtSize / 8> gdt{};
    gdt[kSelectorCode32 / 8] = gdt_descriptor(flat_code32_segment());
    gdt[kSelectorCode64 / 8] = gdt_descriptor(flat_code64_segment());
    gdt[kSelectorData / 8] = gdt_descriptor(flat_data_segment());
    // In long mode a TSS descriptor takes two slots; the second holds base[63:32], here 0. In
    // 32-bit mode that zero slot reads as a null descriptor, which is harmless.
    gdt[kSelectorTss / 8] = gdt_descriptor(boot_tss_segment());
    gdt[kSelectorTss / 8 + 1] = boot_tss_segment().base >> 32;
    write_or_throw(memory, layout::kGdtAddress,
        {reinterpret_cast<const std::uint8_t*>(gdt.data()), sizeof gdt}, "the boot GDT");
}

namespace {

CpuEntryState common_state(const GuestMemory& memory)
{
    write_boot_gdt(memory);
    CpuEntryState state;
    state.rflags = kRflagsReserved1;  // IF, TF and VM clear: both ABIs enter with interrupts off
    state.rsp = layout::kBootStackPointer;
    state.gdt_base = layout::kGdtAddress;
    state.gdt_limit = kGdtSize - 1;
    // An empty IDT: an exception before the kernel loads its own becomes a triple fault, which
    // the VMM reports, rather than a jump through garbage.
    state.idt_base = 0;
    state.idt_limit = 0;
    state.ds = state.es = state.fs = state.gs = state.ss = flat_data_segment();
    state.tr = boot_tss_segment();
    state.ldt = reset_ldt_segment();
    return state;
}

} // namespace

CpuEntryState pvh_entry_state(const GuestMemory& memory, std::uint32_t entry, std::uint64_t start_info_address)
{
    CpuEntryState state = common_state(memory);
    state.rip = entry;
    state.rbx = start_info_address;
    state.cs = flat_code32_segment();
    // pvh.pandoc: "cr0: bit 0 (PE) must be set. All the other writeable bits are cleared." ET is
    // read-only 1 on every CPU since the 486, so stating it is not a writeable bit set.
    state.cr0 = kCr0Pe | kCr0Et;
    state.cr4 = 0;
    state.efer = 0;
    return state;
}

std::uint64_t write_identity_page_tables(const GuestMemory& memory)
{
    static_assert(layout::kPageTablesAddress % 0x1000 == 0, "page tables must be page-aligned");
    static_assert(layout::kPageTablesAddress + kPageTablesSize <= layout::kCmdlineAddress,
        "the page tables must end below the command line");
    static_assert(layout::kPageTablesAddress >= layout::kZeroPageAddress + 0x1000,
        "the page tables must not overlap the zero page");
    // Intel SDM vol. 3 §4.5 "4-Level Paging": entries with P (bit 0) and R/W (bit 1); a PD
    // entry with PS (bit 7) maps a 2 MiB page.
    constexpr std::uint64_t kPresentWritable = 0x3;
    constexpr std::uint64_t kPageSize2M = 0x80;
    const std::uint64_t pml4 = layout::kPageTablesAddress;
    const std::uint64_t pdpt = pml4 + 0x1000;
    const std::uint64_t pd = pdpt + 0x1000;

    std::array<std::uint64_t, 512> table{};
    const auto write_table = [&](std::uint64_t address) {
        write_or_throw(memory, address, {reinterpret_cast<const std::uint8_t*>(table.data()), sizeof table},
            "the identity page tables");
    };
    table[0] = pdpt | kPresentWritable;
    write_table(pml4);
    table.fill(0);
    for (std::uint64_t i = 0; i < 4; ++i)
        table[i] = (pd + i * 0x1000) | kPresentWritable;
    write_table(pdpt);
    for (std::uint64_t gib = 0; gib < 4; ++gib) {
        for (std::uint64_t i = 0; i < 512; ++i)
            table[i] = ((gib * 512 + i) << 21) | kPresentWritable | kPageSize2M;
        write_table(pd + gib * 0x1000);
    }
    return pml4;
}

CpuEntryState long_mode_entry_state(const GuestMemory& memory, std::uint64_t entry, std::uint64_t zero_page_address)
{
    CpuEntryState state = common_state(memory);
    state.rip = entry;
    state.rsi = zero_page_address;
    state.cs = flat_code64_segment();
    state.cr3 = write_identity_page_tables(memory);
    state.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    state.cr4 = kCr4Pae;
    state.efer = kEferLme | kEferLma;
    return state;
}

} // namespace minivmm::boot
