// The MP table that tells the guest its processors, its IOAPIC and the ISA interrupt routing:
// an MP Floating Pointer Structure followed by the MP Configuration Table (Intel MultiProcessor
// Specification 1.4, chapter 4 "MP Configuration Table"), at layout::kMpTableAddress.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// MP spec 1.4 §4.3 (MP Configuration Table Entries), Table 4-3: entry types and lengths.
enum class MpEntryType : std::uint8_t {
    Processor = 0,          // 20 bytes
    Bus = 1,                // 8 bytes
    IoApic = 2,             // 8 bytes
    IoInterrupt = 3,        // 8 bytes
    LocalInterrupt = 4,     // 8 bytes
};

inline constexpr std::uint64_t kMpFloatingPointerSize = 16;
inline constexpr std::uint64_t kMpConfigHeaderSize = 44;
inline constexpr std::uint64_t kMpProcessorEntrySize = 20;
inline constexpr std::uint64_t kMpOtherEntrySize = 8;
inline constexpr unsigned kMpIsaIrqCount = 16;
// The room reserved for it: the last KiB of base memory, below the legacy hole (§4 "MP
// Configuration Table": the floating pointer must be in the EBDA's first KiB or 639-640 KiB).
inline constexpr std::uint64_t kMpTableAreaSize = layout::kLegacyHoleStart - layout::kMpTableAddress;

struct MpTableOptions {
    unsigned vcpu_count = 1;
    // Processor entry CPU signature and feature flags (§4.3.1): Linux only prints them. The
    // defaults describe a family-6 CPU with an FPU and an APIC; pass CPUID leaf 1's EAX/EDX
    // to be exact.
    std::uint32_t cpu_signature = 0x600;
    std::uint32_t feature_flags = (1u << 0) | (1u << 9);
};

// Bytes the floating pointer + configuration table take for `vcpu_count` processors.
std::uint64_t mp_table_size(unsigned vcpu_count);
// The most vCPUs whose MP table fits in kMpTableAreaSize.
unsigned mp_table_max_vcpus();

// The floating pointer followed by the configuration table, as written to guest memory at
// `address` (exposed for tests). Throws UserError when vcpu_count is 0 or the table does not
// fit in kMpTableAreaSize.
std::vector<std::uint8_t> build_mp_table(std::uint64_t address, const MpTableOptions& options);

// Writes build_mp_table(layout::kMpTableAddress, options) into guest memory.
void write_mp_table(const GuestMemory& memory, const MpTableOptions& options);

} // namespace minivmm::boot
