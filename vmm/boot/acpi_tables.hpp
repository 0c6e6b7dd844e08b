// AcpiTables: the minimal ACPI tables that let an ACPI kernel find the vCPUs and the IOAPIC
// (ACPI 6.5 §5.2 "ACPI System Description Tables"): RSDP (§5.2.5 "Root System Description
// Pointer (RSDP)") -> XSDT (§5.2.8 "Extended System Description Table (XSDT)") -> FADT (§5.2.9
// "Fixed ACPI Description Table (FADT)", hardware-reduced) -> DSDT (§5.2.11.1 "Differentiated
// System Description Table (DSDT)"), and the MADT (§5.2.12 "Multiple APIC Description Table
// (MADT)"), all in the BIOS area at layout::kAcpiTablesAddress.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// §5.2.5.3 (Root System Description Pointer (RSDP) Structure), §5.2.6 (System Description Table
// Header), §5.2.9 Table 5.9 (FADT Format): sizes of the fixed parts.
inline constexpr std::uint64_t kAcpiRsdpSize = 36;
inline constexpr std::uint64_t kAcpiHeaderSize = 36;
inline constexpr std::uint64_t kAcpiFadtSize = 276;
// §5.2.12: the MADT header (36) + Local Interrupt Controller Address (4) + Flags (4), and the
// lengths of the three interrupt controller structures minivmm emits.
inline constexpr std::uint64_t kAcpiMadtFixedSize = 44;
inline constexpr std::uint64_t kAcpiMadtLocalApicSize = 8;     // §5.2.12.2 (Processor Local APIC Structure)
inline constexpr std::uint64_t kAcpiMadtIoApicSize = 12;       // §5.2.12.3 (I/O APIC Structure)
inline constexpr std::uint64_t kAcpiMadtLocalApicNmiSize = 6;  // §5.2.12.7 (Local APIC NMI Structure)

// §5.2.9 Table 5.10 (Fixed ACPI Description Table Fixed Feature Flags).
inline constexpr std::uint32_t kFadtFlagWbinvd = 1u << 0;
inline constexpr std::uint32_t kFadtFlagPowerButton = 1u << 4;   // no fixed-feature power button
inline constexpr std::uint32_t kFadtFlagSleepButton = 1u << 5;   // no fixed-feature sleep button
inline constexpr std::uint32_t kFadtFlagResetRegSup = 1u << 10;
inline constexpr std::uint32_t kFadtFlagHwReducedAcpi = 1u << 20;
// §5.2.9.3 Table 5.11 (IA-PC Boot Architecture Flags).
inline constexpr std::uint16_t kIapcBootArchLegacyDevices = 1u << 0;
inline constexpr std::uint16_t kIapcBootArch8042 = 1u << 1;
inline constexpr std::uint16_t kIapcBootArchVgaNotPresent = 1u << 2;
// §5.2.12 Table 5.20 (Multiple APIC Flags).
inline constexpr std::uint32_t kMadtFlagPcatCompat = 1u << 0;

// The guest addresses of each table in `bytes` (which starts at `address`, the RSDP).
struct AcpiTables {
    std::uint64_t address = 0;
    std::vector<std::uint8_t> bytes;
    std::uint64_t rsdp = 0;
    std::uint64_t xsdt = 0;
    std::uint64_t fadt = 0;
    std::uint64_t dsdt = 0;
    std::uint64_t madt = 0;
};

struct AcpiTablesOptions {
    unsigned vcpu_count = 1;
};

// The most vCPUs the MADT describes: layout::kMaxVcpusXapic (8-bit xAPIC ids; the IOAPIC takes
// the id after the last vCPU, as in the MP table).
unsigned acpi_max_vcpus();

// Builds every table laid out from `address` (16-byte aligned, below 4 GiB). Throws UserError
// when vcpu_count is 0 or more than acpi_max_vcpus().
AcpiTables build_acpi_tables(const AcpiTablesOptions& options, std::uint64_t address = layout::kAcpiTablesAddress);

// Writes build_acpi_tables(options) at layout::kAcpiTablesAddress; returns the RSDP's address.
std::uint64_t write_acpi_tables(const GuestMemory& memory, const AcpiTablesOptions& options);

} // namespace minivmm::boot
