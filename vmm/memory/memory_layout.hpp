// The guest-physical memory map of an x86-64 minivmm guest (see docs/ARCHITECTURE.md and
// DESIGN.md, "Guest physical memory map"). Every fixed guest address lives here, nowhere else.
#pragma once

#include <cstdint>
#include <vector>

namespace minivmm::layout {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

inline constexpr std::uint64_t kGdtAddress = 0x500;
inline constexpr std::uint64_t kZeroPageAddress = 0x7000;         // Linux boot protocol boot_params
inline constexpr std::uint64_t kPvhStartInfoAddress = 0x6000;     // PVH hvm_start_info + memmap
inline constexpr std::uint64_t kPageTablesAddress = 0x9000;       // PML4, PDPT, 4 PDs
inline constexpr std::uint64_t kCmdlineAddress = 0x20000;
inline constexpr std::uint64_t kCmdlineMaxSize = 0x10000;
inline constexpr std::uint64_t kMpTableAddress = 0x9fc00;         // MP spec 1.4 §4: last KiB of base memory
inline constexpr std::uint64_t kEbdaStart = 0x9fc00;
inline constexpr std::uint64_t kLegacyHoleStart = 0xa0000;        // VGA + BIOS ROM area, e820 reserved
inline constexpr std::uint64_t kLegacyHoleEnd = 0x100000;
inline constexpr std::uint64_t kKernelAddress = 0x100000;

inline constexpr std::uint64_t kMmioHoleStart = 0xC000'0000;       // 1 GiB below 4 GiB
inline constexpr std::uint64_t kMmioHoleEnd = 0x1'0000'0000;
inline constexpr std::uint64_t kVirtioMmioBase = 0xD000'0000;      // device k at base + k * 4 KiB
inline constexpr std::uint64_t kVirtioMmioStride = 0x1000;
inline constexpr unsigned kVirtioMmioFirstIrq = 5;                 // device k uses IRQ 5 + k
inline constexpr std::uint64_t kIoApicAddress = 0xFEC0'0000;
inline constexpr std::uint64_t kLapicAddress = 0xFEE0'0000;
inline constexpr std::uint64_t kHighRamStart = 0x1'0000'0000;

// Legacy I/O ports.
inline constexpr std::uint16_t kCom1Port = 0x3f8;
inline constexpr unsigned kCom1Irq = 4;
// The i8042 keyboard interrupt (ISA IRQ 1), for the control API's Ctrl-Alt-Del.
inline constexpr unsigned kKeyboardIrq = 1;
inline constexpr std::uint16_t kI8042DataPort = 0x60;
inline constexpr std::uint16_t kI8042CommandPort = 0x64;
inline constexpr std::uint16_t kExitPort = 0xf4;

// The smallest guest minivmm accepts: room for the boot structures, the kernel and a stack.
inline constexpr std::uint64_t kMinimumRamSize = 2 * MiB;

struct RamRange {
    std::uint64_t guest_address;
    std::uint64_t size;
    [[nodiscard]] std::uint64_t end() const { return guest_address + size; }
    bool operator==(const RamRange&) const = default;
};

// RAM for a guest of `size` bytes: one range from 0 up to the MMIO hole, the rest from 4 GiB.
// Each range becomes one KVM memory slot.
std::vector<RamRange> ram_ranges(std::uint64_t size);

} // namespace minivmm::layout

namespace minivmm::layout {
// Initial stack of the boot vCPU: the top of the otherwise unused page 0x8000-0x8fff between the
// zero page and the page tables. Neither the PVH nor the 64-bit Linux entry needs one, but a
// defined RSP inside RAM makes an early push fail visibly instead of writing below address 0.
inline constexpr std::uint64_t kBootStackPointer = 0x8ff0;
} // namespace minivmm::layout

namespace minivmm::layout {
// The BIOS area 0xE0000-0xFFFFF: inside the e820-reserved legacy hole, but backed by the low RAM
// slot, so the VMM can leave firmware tables there the way a BIOS does.
//
// ACPI 6.5 §5.2.5.1 (Finding the RSDP on IA-PC Systems): the RSDP sits on a 16-byte boundary in
// 0xE0000-0xFFFFF, where Linux's legacy scan (acpi_find_root_pointer) looks when the boot
// protocol does not hand it the address. The RSDP comes first, the other tables follow it.
inline constexpr std::uint64_t kAcpiTablesAddress = 0xE0000;
inline constexpr std::uint64_t kAcpiTablesEnd = 0xF0000;
// MP spec 1.4 §4 (MP Configuration Table): the configuration table may be anywhere in memory;
// only the 16-byte floating pointer (at kMpTableAddress, the last KiB of base memory) has to be
// where the spec says. The table itself lives here, with room for 254 processors.
inline constexpr std::uint64_t kMpConfigTableAddress = 0xF0000;
inline constexpr std::uint64_t kMpConfigTableEnd = 0x100000;
// xAPIC ids are 8 bits, 0xFF is the broadcast id, and the IOAPIC takes the id after the last
// vCPU (MP table and MADT alike): at most 254 vCPUs (ids 0..253, IOAPIC 254).
inline constexpr unsigned kMaxVcpusXapic = 254;
} // namespace minivmm::layout
