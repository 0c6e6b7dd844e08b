// MpTable: the MP table that tells the guest its processors, its IOAPIC and the ISA interrupt
// routing (Intel MultiProcessor Specification 1.4, chapter 4 "MP Configuration Table"): the MP
// Floating Pointer Structure at layout::kMpTableAddress (the last KiB of base memory, where the
// spec and Linux look) pointing at the MP Configuration Table at layout::kMpConfigTableAddress.
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
// The room reserved for the configuration table (the floating pointer takes 16 bytes at
// layout::kMpTableAddress, in the e820-reserved last KiB of base memory).
inline constexpr std::uint64_t kMpConfigTableAreaSize = layout::kMpConfigTableEnd - layout::kMpConfigTableAddress;

struct MpTableOptions {
    unsigned vcpu_count = 1;
    // Processor entry CPU signature and feature flags (§4.3.1): Linux only prints them. The
    // defaults describe a family-6 CPU with an FPU and an APIC; pass CPUID leaf 1's EAX/EDX
    // to be exact.
    std::uint32_t cpu_signature = 0x600;
    std::uint32_t feature_flags = (1u << 0) | (1u << 9);
};

struct MpTable {
    std::vector<std::uint8_t> floating_pointer;  // kMpFloatingPointerSize bytes
    std::vector<std::uint8_t> config_table;      // header + entries, mp_config_table_size() bytes
};

// Bytes the configuration table (header + entries) takes for `vcpu_count` processors.
std::uint64_t mp_config_table_size(unsigned vcpu_count);
// The most vCPUs an MP table describes: layout::kMaxVcpusXapic (8-bit APIC ids, the IOAPIC
// taking the id after the last vCPU); their table fits in kMpConfigTableAreaSize.
unsigned mp_table_max_vcpus();

// The floating pointer (pointing at `config_address`) and the configuration table (exposed for
// tests). Throws UserError when vcpu_count is 0 or more than mp_table_max_vcpus().
MpTable build_mp_table(const MpTableOptions& options, std::uint64_t config_address = layout::kMpConfigTableAddress);

// Writes the floating pointer at layout::kMpTableAddress and the configuration table at
// layout::kMpConfigTableAddress.
void write_mp_table(const GuestMemory& memory, const MpTableOptions& options);

} // namespace minivmm::boot
