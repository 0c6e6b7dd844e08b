// CpuEntryState: the boot vCPU's registers at the kernel's entry, neutral of <linux/kvm.h> (the
// VM layer converts it to kvm_regs/kvm_sregs), built for the Xen PVH boot ABI (xen
// docs/misc/pvh.pandoc, "Initial machine state") and the Linux 64-bit boot protocol
// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol").
#pragma once

#include <cstdint>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// One segment register in the hidden-part form that KVM_SET_SREGS takes (Intel SDM vol. 3
// §3.4.5 "Segment Descriptors"): `limit` is in bytes, already expanded when `g` is set.
struct Segment {
    std::uint64_t base = 0;
    std::uint32_t limit = 0;
    std::uint16_t selector = 0;
    std::uint8_t type = 0;     // 4-bit descriptor type (code/data or system type)
    std::uint8_t present = 0;
    std::uint8_t dpl = 0;
    std::uint8_t db = 0;       // default operation size: 1 = 32-bit
    std::uint8_t s = 0;        // 1 = code/data, 0 = system (TSS, LDT)
    std::uint8_t l = 0;        // 64-bit code segment
    std::uint8_t g = 0;        // 4 KiB granularity
    std::uint8_t avl = 0;
    std::uint8_t unusable = 0;
    bool operator==(const Segment&) const = default;
};

struct CpuEntryState {
    std::uint64_t rip = 0;
    std::uint64_t rsp = 0;
    std::uint64_t rflags = 0;
    std::uint64_t rsi = 0;     // Linux: physical address of struct boot_params
    std::uint64_t rbx = 0;     // PVH: physical address of struct hvm_start_info
    std::uint64_t cr0 = 0;
    std::uint64_t cr3 = 0;
    std::uint64_t cr4 = 0;
    std::uint64_t efer = 0;
    std::uint64_t gdt_base = 0;
    std::uint16_t gdt_limit = 0;
    std::uint64_t idt_base = 0;
    std::uint16_t idt_limit = 0;
    Segment cs, ds, es, fs, gs, ss, tr, ldt;
};

// Architectural bits the entry states use (Intel SDM vol. 3 §2.5 "Control Registers",
// §2.2.1 "Extended Feature Enable Register"), spelled as in Linux's processor-flags.h.
inline constexpr std::uint64_t kCr0Pe = 1u << 0;
inline constexpr std::uint64_t kCr0Et = 1u << 4;
inline constexpr std::uint64_t kCr0Pg = 1u << 31;
inline constexpr std::uint64_t kCr4Pae = 1u << 5;
inline constexpr std::uint64_t kEferLme = 1u << 8;
inline constexpr std::uint64_t kEferLma = 1u << 10;
inline constexpr std::uint64_t kRflagsReserved1 = 1u << 1;   // bit 1 always reads as 1

// The boot GDT written at layout::kGdtAddress; one table serves both entry modes. Selector
// values: Linux boot.rst requires __BOOT_CS = 0x10 and __BOOT_DS = 0x18; PVH leaves them
// unspecified, so its 32-bit code segment takes the free slot 0x08.
inline constexpr std::uint16_t kSelectorCode32 = 0x08;
inline constexpr std::uint16_t kSelectorCode64 = 0x10;  // __BOOT_CS
inline constexpr std::uint16_t kSelectorData = 0x18;    // __BOOT_DS
inline constexpr std::uint16_t kSelectorTss = 0x20;     // 16-byte system descriptor in long mode
inline constexpr std::uint16_t kGdtSize = 0x30;         // null, code32, code64, data, TSS (2 slots)

// The flat segments of the boot GDT, as the CPU caches them after loading each selector.
Segment flat_code32_segment();
Segment flat_code64_segment();
Segment flat_data_segment();
Segment boot_tss_segment();

// Encodes `segment` as an 8-byte GDT descriptor (Intel SDM vol. 3 §3.4.5 "Segment Descriptors").
std::uint64_t gdt_descriptor(const Segment& segment);

// Writes the boot GDT at layout::kGdtAddress; throws std::logic_error when that is not RAM.
void write_boot_gdt(const GuestMemory& memory);

// PVH entry (pvh.pandoc): 32-bit protected mode, paging off, flat 4 GiB CS (32-bit code) and
// DS/ES/SS (data), TR a 32-bit busy TSS with base 0 and limit 0x67, CR0.PE, CR4 = 0,
// EBX = start_info, EFLAGS with IF/TF/VM clear. Writes the GDT so the selectors agree with it.
CpuEntryState pvh_entry_state(const GuestMemory& memory, std::uint32_t entry, std::uint64_t start_info_address);

// Identity page tables at layout::kPageTablesAddress mapping [0, 4 GiB) with 2 MiB pages:
// PML4, one PDPT, four PDs. Returns the PML4's address (the CR3 value).
std::uint64_t write_identity_page_tables(const GuestMemory& memory);
inline constexpr std::uint64_t kPageTablesSize = 6 * 0x1000;

// Linux 64-bit entry (boot.rst, "64-bit Boot Protocol"): long mode, paging on with an identity
// map covering the kernel, boot_params and cmdline, CS = __BOOT_CS (64-bit), DS/ES/SS = __BOOT_DS,
// RSI = boot_params, interrupts off. Writes the GDT and the page tables.
CpuEntryState long_mode_entry_state(const GuestMemory& memory, std::uint64_t entry, std::uint64_t zero_page_address);

} // namespace minivmm::boot
