// MP table construction (see mp_table.hpp; Intel MP spec 1.4, chapter 4).
#include "vmm/boot/mp_table.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

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
// xAPIC ids are 8 bits and 0xff is the broadcast id; the IOAPIC takes the id after the vCPUs.
constexpr unsigned kMaxApicId = 0xfe;

class Writer {
public:
    void u8(std::uint8_t v) { m_bytes.push_back(v); }
    void u16(std::uint16_t v) { u8(v & 0xff); u8(v >> 8); }
    void u32(std::uint32_t v) { u16(v & 0xffff); u16(v >> 16); }
    // Fixed-width text field, space-padded as the spec's examples are.
    void text(std::string_view s, std::size_t width)
    {
        for (std::size_t i = 0; i < width; ++i)
            u8(i < s.size() ? static_cast<std::uint8_t>(s[i]) : ' ');
    }
    std::vector<std::uint8_t>& bytes() { return m_bytes; }

private:
    std::vector<std::uint8_t> m_bytes;
};

// §4.1/§4.2: "checksum ... all bytes ... including the checksum field, add up to zero".
std::uint8_t checksum(const std::uint8_t* data, std::size_t length)
{
    std::uint8_t sum = 0;
    for (std::size_t i = 0; i < length; ++i)
        sum = static_cast<std::uint8_t>(sum + data[i]);
    return static_cast<std::uint8_t>(-sum);
}

} // namespace

std::uint64_t mp_table_size(unsigned vcpu_count)
{
    return kMpFloatingPointerSize + kMpConfigHeaderSize + std::uint64_t(vcpu_count) * kMpProcessorEntrySize
        + kMpOtherEntrySize * (1 /* bus */ + 1 /* IOAPIC */ + kMpIsaIrqCount + 2 /* LINT0, LINT1 */);
}

unsigned mp_table_max_vcpus()
{
    const std::uint64_t fixed = mp_table_size(0);
    return static_cast<unsigned>((kMpTableAreaSize - fixed) / kMpProcessorEntrySize);
}

std::vector<std::uint8_t> build_mp_table(std::uint64_t address, const MpTableOptions& options)
{
    const unsigned count = options.vcpu_count;
    if (count == 0)
        throw UserError("MP table: the guest needs at least one vCPU");
    const unsigned limit = std::min(mp_table_max_vcpus(), kMaxApicId);
    if (count > limit)
        throw UserError(fmt::format("MP table: {} vCPUs need {} bytes, but {} bytes are reserved for it at {:#x}: "
                                    "use at most {} vCPUs (--cpus)", count, mp_table_size(count), kMpTableAreaSize,
                                    layout::kMpTableAddress, limit));
    const auto ioapic_id = static_cast<std::uint8_t>(count);
    const std::uint64_t config_address = address + kMpFloatingPointerSize;

    Writer w;
    // §4.1 (MP Floating Pointer Structure), 16 bytes.
    w.text("_MP_", 4);
    w.u32(static_cast<std::uint32_t>(config_address));
    w.u8(1);                    // length in 16-byte paragraphs
    w.u8(kSpecRevision14);
    w.u8(0);                    // checksum, filled below
    w.u8(0);                    // feature byte 1: 0 = a configuration table is present
    w.u8(0);                    // feature byte 2: IMCRP clear = virtual wire mode, no IMCR to program
    w.u8(0); w.u8(0); w.u8(0);  // feature bytes 3-5, reserved

    // §4.2 (MP Configuration Table Header), 44 bytes.
    const std::size_t header = w.bytes().size();
    w.text("PCMP", 4);
    w.u16(0);                   // base table length, filled below
    w.u8(kSpecRevision14);
    w.u8(0);                    // checksum, filled below
    w.text("MINIVMM", 8);       // OEM ID
    w.text("MINIVMM-X86", 12);  // product ID
    w.u32(0);                   // no OEM table
    w.u16(0);
    const std::size_t entry_count_at = w.bytes().size();
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

    auto& bytes = w.bytes();
    if (bytes.size() != mp_table_size(count))
        throw std::logic_error("MP table: size does not match mp_table_size()");
    const std::size_t table_length = bytes.size() - header;
    bytes[header + 4] = static_cast<std::uint8_t>(table_length & 0xff);
    bytes[header + 5] = static_cast<std::uint8_t>(table_length >> 8);
    bytes[entry_count_at] = static_cast<std::uint8_t>(entries & 0xff);
    bytes[entry_count_at + 1] = static_cast<std::uint8_t>(entries >> 8);
    bytes[header + 7] = checksum(bytes.data() + header, table_length);
    bytes[10] = checksum(bytes.data(), kMpFloatingPointerSize);
    return bytes;
}

void write_mp_table(const GuestMemory& memory, const MpTableOptions& options)
{
    static_assert(layout::kMpTableAddress % 16 == 0, "§4.1: the floating pointer is paragraph-aligned");
    const auto bytes = build_mp_table(layout::kMpTableAddress, options);
    if (!memory.write(layout::kMpTableAddress, bytes))
        throw std::logic_error("boot: the MP table area is not guest RAM");
}

} // namespace minivmm::boot
