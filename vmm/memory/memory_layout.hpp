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
