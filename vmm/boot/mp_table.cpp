// MP table construction (see mp_table.hpp; Intel MP spec 1.4, chapter 4).
#include "vmm/boot/mp_table.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/byte_writer.hpp"

namespace minivmm::boot {

namespace {

// §4.1 (MP Floating Pointer Structure) and §4.2 (MP Configuration Table Header).
constexpr std::uint8_t kSpecRevision14 = 0x04;
// APIC versions reported (§4.3.1, §4.3.3): 0x14 is an integrated xAPIC, 0x11 the 82093AA IOAPIC,
// which is what KVM's in-kernel IOAPIC emulates (its version register reads 0x11).
constexpr std::uint8_t kLocalApicVersion = 0x14;
constexpr std::uint8_t kIoApicVersion = 0x11;
constexpr std::uint8_t kCpuFlagEnabled = 0x01;
constexpr std::uint8_t kCpuFlagBootstrap = 0x02;
constexpr std::uint8_t kIoApicFlagEnabled = 0x01;
// §4.3.4 Table 4-9 (Interrupt Type Values).
constexpr std::uint8_t kInterruptInt = 0;
constexpr std::uint8_t kInterruptNmi = 1;
constexpr std::uint8_t kInterruptExtInt = 3;
// §4.3.4: polarity/trigger "conforms to specifications of bus" (ISA: active high, edge).
constexpr std::uint16_t kInterruptFlagsConforming = 0;
constexpr std::uint8_t kIsaBusId = 0;
constexpr std::uint8_t kAllLocalApics = 0xff;
} // namespace

std::uint64_t mp_config_table_size(unsigned vcpu_count)
{
    return kMpConfigHeaderSize + std::uint64_t(vcpu_count) * kMpProcessorEntrySize
        + kMpOtherEntrySize * (1 /* bus */ + 1 /* IOAPIC */ + kMpIsaIrqCount + 2 /* LINT0, LINT1 */);
}

unsigned mp_table_max_vcpus()
{
    return layout::kMaxVcpusXapic;
}

MpTable build_mp_table(const MpTableOptions& options, std::uint64_t config_address)
{
    static_assert(layout::kMaxVcpusXapic <= 0xfe, "0xff is the xAPIC broadcast id");
    const unsigned count = options.vcpu_count;
    if (count == 0)
        throw UserError("MP table: the guest needs at least one vCPU");
    if (count > mp_table_max_vcpus())
        throw UserError(fmt::format("MP table: {} vCPUs, but xAPIC ids are 8 bits (0xff is broadcast) and the "
                                    "IOAPIC takes the id after the last vCPU: use at most {} vCPUs (--cpus)",
                                    count, mp_table_max_vcpus()));
    if (mp_config_table_size(count) > kMpConfigTableAreaSize)
        throw std::logic_error("MP table: the configuration table outgrows its area");
    if (config_address > 0xffff'ffff - mp_config_table_size(count))
        throw std::logic_error("MP table: the configuration table must lie below 4 GiB");
    const auto ioapic_id = static_cast<std::uint8_t>(count);

    MpTable table;
    ByteWriter fp;
    // §4.1 (MP Floating Pointer Structure), 16 bytes.
    fp.text("_MP_", 4);
    fp.u32(static_cast<std::uint32_t>(config_address));
    fp.u8(1);                    // length in 16-byte paragraphs
    fp.u8(kSpecRevision14);
    fp.u8(0);                    // checksum, filled below
    fp.u8(0);                    // feature byte 1: 0 = a configuration table is present
    fp.u8(0);                    // feature byte 2: IMCRP clear = virtual wire mode, no IMCR to program
    fp.zeros(3);                 // feature bytes 3-5, reserved
    fp.fill_checksum(0, kMpFloatingPointerSize, 10);
    table.floating_pointer = std::move(fp.bytes());

    ByteWriter w;
    // §4.2 (MP Configuration Table Header), 44 bytes.
    w.text("PCMP", 4);
    w.u16(0);                   // base table length, filled below
    w.u8(kSpecRevision14);
    w.u8(0);                    // checksum, filled below
    w.text("MINIVMM", 8);       // OEM ID
    w.text("MINIVMM-X86", 12);  // product ID
    w.u32(0);                   // no OEM table
    w.u16(0);
    const std::size_t entry_count_at = w.size();
    w.u16(0);                   // entry count, filled below
    w.u32(static_cast<std::uint32_t>(layout::kLapicAddress));
    w.u16(0);                   // no extended table
    w.u8(0);
    w.u8(0);

    unsigned entries = 0;
    // §4.3.1 (Processor Entries): APIC id = vCPU index, matching CPUID leaf 1 EBX[31:24] and
    // leaf 0xB's x2APIC id (cpuid_builder), so the kernel can wake each AP by its id.
    for (unsigned cpu = 0; cpu < count; ++cpu, ++entries) {
        w.u8(static_cast<std::uint8_t>(MpEntryType::Processor));
        w.u8(static_cast<std::uint8_t>(cpu));
        w.u8(kLocalApicVersion);
        w.u8(kCpuFlagEnabled | (cpu == 0 ? kCpuFlagBootstrap : 0));
        w.u32(options.cpu_signature);
        w.u32(options.feature_flags);
        w.u32(0);
        w.u32(0);
    }
    // §4.3.2 (Bus Entries): one ISA bus, id 0.
    w.u8(static_cast<std::uint8_t>(MpEntryType::Bus));
    w.u8(kIsaBusId);
    w.text("ISA", 6);
    ++entries;
    // §4.3.3 (I/O APIC Entries).
    w.u8(static_cast<std::uint8_t>(MpEntryType::IoApic));
    w.u8(ioapic_id);
    w.u8(kIoApicVersion);
    w.u8(kIoApicFlagEnabled);
    w.u32(static_cast<std::uint32_t>(layout::kIoApicAddress));
    ++entries;
    // §4.3.4 (I/O Interrupt Assignment Entries): ISA IRQ n -> IOAPIC pin n. KVM's default GSI
    // routing (kvm_setup_default_irq_routing) wires GSI n to IOAPIC pin n for n < 16, and the
    // VMM raises ISA IRQ n as GSI n, so pin n is where the interrupt really arrives. (A PC
    // routes IRQ 0 to pin 2 and says so with an ACPI override; here there is nothing to
    // override.)
    for (unsigned irq = 0; irq < kMpIsaIrqCount; ++irq, ++entries) {
        w.u8(static_cast<std::uint8_t>(MpEntryType::IoInterrupt));
        w.u8(kInterruptInt);
        w.u16(kInterruptFlagsConforming);
        w.u8(kIsaBusId);
        w.u8(static_cast<std::uint8_t>(irq));
        w.u8(ioapic_id);
        w.u8(static_cast<std::uint8_t>(irq));
    }
    // §4.3.5 (Local Interrupt Assignment Entries): LINT0 ExtINT (the 8259 PIC's output, virtual
    // wire mode) and LINT1 NMI, on every local APIC, as §5.1 (Default Configurations) wires them.
    const std::uint8_t lint_types[] = {kInterruptExtInt, kInterruptNmi};
    for (std::uint8_t lint = 0; lint < 2; ++lint, ++entries) {
        w.u8(static_cast<std::uint8_t>(MpEntryType::LocalInterrupt));
        w.u8(lint_types[lint]);
        w.u16(kInterruptFlagsConforming);
        w.u8(kIsaBusId);
        w.u8(0);
        w.u8(kAllLocalApics);
        w.u8(lint);
    }

    if (w.size() != mp_config_table_size(count))
        throw std::logic_error("MP table: size does not match mp_config_table_size()");
    w.patch_u16(4, static_cast<std::uint16_t>(w.size()));
    w.patch_u16(entry_count_at, static_cast<std::uint16_t>(entries));
    w.fill_checksum(0, w.size(), 7);
    table.config_table = std::move(w.bytes());
    return table;
}

void write_mp_table(const GuestMemory& memory, const MpTableOptions& options)
{
    static_assert(layout::kMpTableAddress % 16 == 0, "§4.1: the floating pointer is paragraph-aligned");
    static_assert(layout::kMpTableAddress + kMpFloatingPointerSize <= layout::kLegacyHoleStart,
        "§4: the floating pointer lies in the last KiB of base memory");
    const auto table = build_mp_table(options, layout::kMpConfigTableAddress);
    if (!memory.write(layout::kMpTableAddress, table.floating_pointer)
        || !memory.write(layout::kMpConfigTableAddress, table.config_table))
        throw std::logic_error("boot: the MP table areas are not guest RAM");
}

} // namespace minivmm::boot
