// ACPI table construction (see acpi_tables.hpp; ACPI 6.5 §5.2 "ACPI System Description Tables").
#include "vmm/boot/acpi_tables.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/byte_writer.hpp"

namespace minivmm::boot {

namespace {

// §5.2.6 (System Description Table Header): OEM and creator fields, space-padded.
constexpr std::string_view kOemId = "MINIVM";           // 6 bytes
constexpr std::string_view kOemTableId = "MINIVMM";     // 8 bytes
constexpr std::uint32_t kOemRevision = 1;
constexpr std::string_view kCreatorId = "MVMM";         // 4 bytes
constexpr std::uint32_t kCreatorRevision = 1;

// Table revisions of ACPI 6.5: RSDP 2 (§5.2.5.3: "2" for ACPI 2.0 and later, with the XSDT
// address), XSDT 1 (§5.2.8), FADT 6 with minor version 5 (§5.2.9 Table 5.9: "Major Version"
// and "FADT Minor Version" for ACPI 6.5), DSDT 2 (§5.2.11.1: 2 and above means 64-bit AML
// integers), MADT 6 (§5.2.12 Table 5.19).
constexpr std::uint8_t kRsdpRevision = 2;
constexpr std::uint8_t kXsdtRevision = 1;
constexpr std::uint8_t kFadtRevision = 6;
constexpr std::uint8_t kFadtMinorVersion = 5;
constexpr std::uint8_t kDsdtRevision = 2;
constexpr std::uint8_t kMadtRevision = 6;

// §5.2.12 Table 5.21 (Interrupt Controller Structure Types).
constexpr std::uint8_t kMadtTypeLocalApic = 0;
constexpr std::uint8_t kMadtTypeIoApic = 1;
constexpr std::uint8_t kMadtTypeLocalApicNmi = 4;
// §5.2.12.2 Table 5.23 (Local APIC Flags).
constexpr std::uint32_t kLocalApicEnabled = 1u << 0;
// §5.2.12.7: "0xFF signifies that this applies to all processors in the machine".
constexpr std::uint8_t kAllProcessors = 0xff;
// §5.2.12.5 Table 5.26 (MPS INTI Flags): 0 = conforms to the bus's specification.
constexpr std::uint16_t kMpsIntiConforming = 0;
constexpr std::uint8_t kLint1 = 1;

// §5.2.3.2 (Generic Address Structure (GAS)), Table 5.1: address space 1 = System I/O, access
// size 1 = byte access.
constexpr std::uint8_t kGasSystemIo = 1;
constexpr std::uint8_t kGasByteAccess = 1;

constexpr std::size_t kTableAlignment = 16;

// §5.2.6 Table 5.4 (DESCRIPTION_HEADER Fields): Length at 4, Checksum at 9.
constexpr std::size_t kHeaderLengthAt = 4;
constexpr std::size_t kHeaderChecksumAt = 9;

void write_header(ByteWriter& w, std::string_view signature, std::uint8_t revision)
{
    w.text(signature, 4);
    w.u32(0);               // Length, filled by finish_table
    w.u8(revision);
    w.u8(0);                // Checksum, filled by finish_table
    w.text(kOemId, 6);
    w.text(kOemTableId, 8);
    w.u32(kOemRevision);
    w.text(kCreatorId, 4);
    w.u32(kCreatorRevision);
}

// §5.2.6: Length is the whole table's, header included; "the entire table, including the
// checksum field, must add to zero to be considered valid".
std::vector<std::uint8_t> finish_table(ByteWriter& w)
{
    w.patch_u32(kHeaderLengthAt, static_cast<std::uint32_t>(w.size()));
    w.fill_checksum(0, w.size(), kHeaderChecksumAt);
    return std::move(w.bytes());
}

void write_gas_io_byte(ByteWriter& w, std::uint16_t port)
{
    w.u8(kGasSystemIo);
    w.u8(8);                // register bit width
    w.u8(0);                // register bit offset
    w.u8(kGasByteAccess);
    w.u64(port);
}

// §20.2.4 (Package Length Encoding): the length counts itself; one byte up to 63, else a lead
// byte (bits 7-6: how many bytes follow, bits 3-0: the low nibble) and up to 3 more bytes.
void write_package_length(ByteWriter& w, std::size_t body_length)
{
    for (std::size_t extra = 0; extra <= 3; ++extra) {
        const std::size_t total = body_length + 1 + extra;
        if (extra == 0 && total < 0x40) {
            w.u8(static_cast<std::uint8_t>(total));
            return;
        }
        if (extra > 0 && total < (std::size_t(1) << (4 + 8 * extra))) {
            w.u8(static_cast<std::uint8_t>((extra << 6) | (total & 0x0f)));
            for (std::size_t i = 0; i < extra; ++i)
                w.u8(static_cast<std::uint8_t>(total >> (4 + 8 * i)));
            return;
        }
    }
    throw std::logic_error("AML: package longer than 2^28 bytes");
}

// `opcode` (one or two bytes), PkgLength, then `body`: ScopeOp, DeviceOp, BufferOp.
void write_package(ByteWriter& w, std::initializer_list<std::uint8_t> opcode, const std::vector<std::uint8_t>& body)
{
    for (const auto byte : opcode)
        w.u8(byte);
    write_package_length(w, body.size());
    for (const auto byte : body)
        w.u8(byte);
}

// §20.2.2 (Name Objects Encoding): a NameSeg is 4 characters, '_'-padded by the ASL compiler.
void write_name_seg(ByteWriter& w, std::string_view seg)
{
    w.text(seg, 4, '_');
}

// §19.6.35 EISAID: "PNP0501" -> three 5-bit letters big-endian in the first two bytes, then the
// four hex digits as two bytes, stored as a DWordConst.
std::uint32_t eisa_id(std::string_view id)
{
    if (id.size() != 7)
        throw std::logic_error("AML: an EISA id is 7 characters");
    const auto letter = [&](std::size_t i) { return static_cast<std::uint32_t>(id[i] - '@') & 0x1f; };
    const auto hex = [&](std::size_t i) {
        const char c = id[i];
        return static_cast<std::uint32_t>(c <= '9' ? c - '0' : c - 'A' + 10);
    };
    const std::uint32_t vendor = (letter(0) << 10) | (letter(1) << 5) | letter(2);
    const std::uint32_t product = (hex(3) << 12) | (hex(4) << 8) | (hex(5) << 4) | hex(6);
    const std::uint8_t bytes[4] = {static_cast<std::uint8_t>(vendor >> 8), static_cast<std::uint8_t>(vendor),
        static_cast<std::uint8_t>(product >> 8), static_cast<std::uint8_t>(product)};
    return bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (std::uint32_t(bytes[3]) << 24);
}

// One I/O range of a device's _CRS, decoded at exactly `base` (§6.4.2.5, I/O Port Descriptor).
struct IoRange {
    std::uint16_t base;
    std::uint8_t length;
};

// An ISA device in ACPI: Device (NAME) { Name (_HID, EisaId (HID)) Name (_UID, 0)
//   Name (_CRS, ResourceTemplate () { IO (Decode16, base, base, 1, length)... IRQNoFlags () {irq} }) }
std::vector<std::uint8_t> isa_device_aml(std::string_view name, std::string_view hid,
    std::initializer_list<IoRange> ranges, unsigned irq)
{
    ByteWriter resources;
    for (const auto& range : ranges) {
        // §6.4.2.5 (I/O Port Descriptor): tag 0x47, 16-bit decode, min, max, alignment, length.
        resources.u8(0x47);
        resources.u8(0x01);
        resources.u16(range.base);
        resources.u16(range.base);
        resources.u8(1);
        resources.u8(range.length);
    }
    // §6.4.2.1 (IRQ Descriptor): tag 0x22 (2 bytes, no information byte: edge, active high).
    resources.u8(0x22);
    resources.u16(static_cast<std::uint16_t>(1u << irq));
    // §6.4.2.9 (End Tag): checksum 0 = "treated as if the checksum operation succeeded".
    resources.u8(0x79);
    resources.u8(0);

    constexpr std::uint8_t kNameOp = 0x08, kBufferOp = 0x11, kZeroOp = 0x00, kByteConst = 0x0a,
                           kDWordConst = 0x0c;
    ByteWriter buffer;  // BufferSize then the bytes (§20.2.5.4 DefBuffer)
    buffer.u8(kByteConst);
    buffer.u8(static_cast<std::uint8_t>(resources.size()));
    for (const auto byte : resources.bytes())
        buffer.u8(byte);

    ByteWriter device;
    write_name_seg(device, name);
    device.u8(kNameOp);
    write_name_seg(device, "_HID");
    device.u8(kDWordConst);
    device.u32(eisa_id(hid));
    device.u8(kNameOp);
    write_name_seg(device, "_UID");
    device.u8(kZeroOp);
    device.u8(kNameOp);
    write_name_seg(device, "_CRS");
    write_package(device, {kBufferOp}, buffer.bytes());

    constexpr std::uint8_t kExtOpPrefix = 0x5b, kDeviceOp = 0x82;
    ByteWriter aml;
    write_package(aml, {kExtOpPrefix, kDeviceOp}, device.bytes());
    return std::move(aml.bytes());
}

// The ISA devices, in \_SB: COM1 (PNP0501, the 16550 at 0x3F8 on IRQ 4) and the keyboard
// controller (PNP0303, data port 0x60, command port 0x64, IRQ 1). Why they are needed: a
// hardware-reduced ACPI kernel has no legacy PIC and so no fixed ISA IRQ numbers (Linux:
// nr_legacy_irqs() == 0, the IOAPIC's IRQs are all allocated on demand). The built-in ttyS0 at
// "IRQ 4" and the i8042 driver's "IRQ 1" then cannot get their interrupts (the i8042 probe fails
// with -EINVAL); the PNP drivers (8250_pnp, i8042's PNP probe) find these devices, register their
// GSIs through acpi_register_gsi and use the IRQs they get. No PS/2 mouse (PNP0F13) is listed:
// there is none, and Linux then skips its AUX probe.
std::vector<std::uint8_t> isa_devices_aml()
{
    constexpr std::uint8_t kScopeOp = 0x10, kRootChar = 0x5c;
    ByteWriter devices;
    devices.u8(kRootChar);
    write_name_seg(devices, "_SB");
    for (const auto byte : isa_device_aml("COM1", "PNP0501", {{layout::kCom1Port, 8}}, layout::kCom1Irq))
        devices.u8(byte);
    for (const auto byte : isa_device_aml("KBD", "PNP0303",
             {{layout::kI8042DataPort, 1}, {layout::kI8042CommandPort, 1}}, layout::kKeyboardIrq))
        devices.u8(byte);

    ByteWriter aml;
    write_package(aml, {kScopeOp}, devices.bytes());
    return std::move(aml.bytes());
}

// §5.2.11.1 (Differentiated System Description Table (DSDT)): the header and a minimal AML body
// holding only the ISA devices (see isa_devices_aml). The processors and the IOAPIC are in the
// MADT; the i8042's reset needs no driver.
std::vector<std::uint8_t> build_dsdt()
{
    ByteWriter w;
    write_header(w, "DSDT", kDsdtRevision);
    for (const auto byte : isa_devices_aml())
        w.u8(byte);
    return finish_table(w);
}

// §5.2.12 (Multiple APIC Description Table (MADT)).
std::vector<std::uint8_t> build_madt(unsigned vcpu_count)
{
    ByteWriter w;
    write_header(w, "APIC", kMadtRevision);
    w.u32(static_cast<std::uint32_t>(layout::kLapicAddress));
    // PCAT_COMPAT: KVM's in-kernel irqchip has the dual 8259 PIC besides the IOAPIC.
    w.u32(kMadtFlagPcatCompat);
    // §5.2.12.2 (Processor Local APIC Structure): UID and APIC id = vCPU index, as in the MP
    // table and CPUID leaf 1 EBX[31:24] / leaf 0xB (cpuid_builder).
    for (unsigned cpu = 0; cpu < vcpu_count; ++cpu) {
        w.u8(kMadtTypeLocalApic);
        w.u8(static_cast<std::uint8_t>(kAcpiMadtLocalApicSize));
        w.u8(static_cast<std::uint8_t>(cpu));  // ACPI Processor UID
        w.u8(static_cast<std::uint8_t>(cpu));  // APIC ID
        w.u32(kLocalApicEnabled);
    }
    // §5.2.12.3 (I/O APIC Structure): id after the last vCPU, GSIs 0-23 on pins 0-23.
    //
    // No §5.2.12.5 Interrupt Source Overrides: without one, ISA IRQ n is GSI n, edge-triggered,
    // active high (the ISA defaults), and that is exactly how the interrupt arrives here: KVM's
    // default GSI routing (kvm_setup_default_irq_routing) wires GSI n to IOAPIC pin n and the
    // VMM raises ISA IRQ n as GSI n. (A PC's IRQ 0 -> pin 2 override would be false here.)
    w.u8(kMadtTypeIoApic);
    w.u8(static_cast<std::uint8_t>(kAcpiMadtIoApicSize));
    w.u8(static_cast<std::uint8_t>(vcpu_count));  // I/O APIC ID
    w.u8(0);                                       // reserved
    w.u32(static_cast<std::uint32_t>(layout::kIoApicAddress));
    w.u32(0);                                      // Global System Interrupt Base
    // §5.2.12.7 (Local APIC NMI Structure): LINT1 is NMI on every processor, as the MP table's
    // local interrupt entry says and configure_vcpu programs the LVT.
    w.u8(kMadtTypeLocalApicNmi);
    w.u8(static_cast<std::uint8_t>(kAcpiMadtLocalApicNmiSize));
    w.u8(kAllProcessors);
    w.u16(kMpsIntiConforming);
    w.u8(kLint1);
    return finish_table(w);
}

// §5.2.9 (Fixed ACPI Description Table (FADT)), Table 5.9, revision 6 (276 bytes).
std::vector<std::uint8_t> build_fadt(std::uint64_t dsdt_address)
{
    ByteWriter w;
    write_header(w, "FACP", kFadtRevision);
    w.u32(0);                   // 36 FIRMWARE_CTRL: no FACS (optional when HW_REDUCED_ACPI)
    w.u32(0);                   // 40 DSDT: 0, the 64-bit X_DSDT below is the one to use
    w.u8(0);                    // 44 reserved
    w.u8(0);                    // 45 Preferred_PM_Profile: unspecified
    w.u16(0);                   // 46 SCI_INT: none (hardware-reduced: no SCI)
    w.u32(0);                   // 48 SMI_CMD: 0 = no SMM, ACPI mode always on
    w.zeros(4);                 // 52 ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
    w.zeros(8 * 4);             // 56-87 PM1a/b_EVT, PM1a/b_CNT, PM2_CNT, PM_TMR, GPE0/1: none
    w.zeros(8);                 // 88-95 their lengths, GPE1_BASE, CST_CNT
    w.zeros(8);                 // 96-103 P_LVL2/3_LAT, FLUSH_SIZE, FLUSH_STRIDE
    w.zeros(5);                 // 104-108 DUTY_OFFSET, DUTY_WIDTH, DAY_ALRM, MON_ALRM, CENTURY
    // 109 IAPC_BOOT_ARCH. LEGACY_DEVICES and 8042: the 16550, the i8042 and the PIT are there,
    // and without 8042 Linux marks the i8042 "firmware absent" and skips its probe; with it,
    // Linux probes the ports as it does without ACPI. VGA Not Present: there is none.
    w.u16(kIapcBootArchLegacyDevices | kIapcBootArch8042 | kIapcBootArchVgaNotPresent);
    w.u8(0);                    // 111 reserved
    // 112 Flags. HW_REDUCED_ACPI: no PM timer, SCI, PM1 blocks or GPEs (minivmm has none).
    // RESET_REG_SUP with RESET_REG = I/O port 0x64, value 0xFE: the i8042 "pulse reset line"
    // command, the reset minivmm implements, so an ACPI reboot ends the VM as reboot=k does.
    w.u32(kFadtFlagWbinvd | kFadtFlagPowerButton | kFadtFlagSleepButton | kFadtFlagResetRegSup
        | kFadtFlagHwReducedAcpi);
    write_gas_io_byte(w, layout::kI8042CommandPort);  // 116 RESET_REG
    w.u8(0xfe);                 // 128 RESET_VALUE
    w.u16(0);                   // 129 ARM_BOOT_ARCH
    w.u8(kFadtMinorVersion);    // 131 FADT Minor Version
    w.u64(0);                   // 132 X_FIRMWARE_CTRL
    w.u64(dsdt_address);        // 140 X_DSDT
    w.zeros(8 * 12);            // 148-243 X_PM1a_EVT ... X_GPE1_BLK: none
    w.zeros(2 * 12);            // 244-267 SLEEP_CONTROL_REG, SLEEP_STATUS_REG: none
    w.text("MINIVMM", 8, '\0'); // 268 Hypervisor Vendor Identity
    auto bytes = finish_table(w);
    if (bytes.size() != kAcpiFadtSize)
        throw std::logic_error("ACPI: the FADT is not 276 bytes");
    return bytes;
}

// §5.2.8 (Extended System Description Table (XSDT)): 64-bit pointers to the other tables.
std::vector<std::uint8_t> build_xsdt(std::uint64_t fadt_address, std::uint64_t madt_address)
{
    ByteWriter w;
    write_header(w, "XSDT", kXsdtRevision);
    w.u64(fadt_address);
    w.u64(madt_address);
    return finish_table(w);
}

// §5.2.5.3 (Root System Description Pointer (RSDP) Structure), Table 5.3.
std::vector<std::uint8_t> build_rsdp(std::uint64_t xsdt_address)
{
    ByteWriter w;
    w.text("RSD PTR ", 8);
    w.u8(0);                    // 8 Checksum: of the first 20 bytes (the ACPI 1.0 structure)
    w.text(kOemId, 6);          // 9 OEMID
    w.u8(kRsdpRevision);        // 15 Revision
    w.u32(0);                   // 16 RsdtAddress: no RSDT, revision 2 readers take the XSDT
    w.u32(static_cast<std::uint32_t>(kAcpiRsdpSize));  // 20 Length
    w.u64(xsdt_address);        // 24 XsdtAddress
    w.u8(0);                    // 32 Extended Checksum: of the whole structure
    w.zeros(3);                 // 33 reserved
    w.fill_checksum(0, 20, 8);
    w.fill_checksum(0, kAcpiRsdpSize, 32);
    return std::move(w.bytes());
}

} // namespace

unsigned acpi_max_vcpus()
{
    return layout::kMaxVcpusXapic;
}

AcpiTables build_acpi_tables(const AcpiTablesOptions& options, std::uint64_t address)
{
    const unsigned count = options.vcpu_count;
    if (count == 0)
        throw UserError("ACPI: the guest needs at least one vCPU");
    if (count > acpi_max_vcpus())
        throw UserError(fmt::format("ACPI: {} vCPUs, but xAPIC ids are 8 bits (0xff is broadcast) and the IOAPIC "
                                    "takes the id after the last vCPU: use at most {} vCPUs (--cpus)",
                                    count, acpi_max_vcpus()));
    if (address % kTableAlignment != 0)
        throw std::logic_error("ACPI: §5.2.5.1 wants the RSDP on a 16-byte boundary");

    // Tables without pointers first, so every address is known before the tables that hold it.
    const auto dsdt = build_dsdt();
    const auto madt = build_madt(count);
    const auto aligned = [](std::uint64_t n) { return (n + kTableAlignment - 1) / kTableAlignment * kTableAlignment; };
    const std::uint64_t xsdt_size = kAcpiHeaderSize + 2 * 8;
    AcpiTables tables;
    tables.address = address;
    tables.rsdp = address;
    tables.xsdt = tables.rsdp + aligned(kAcpiRsdpSize);
    tables.fadt = tables.xsdt + aligned(xsdt_size);
    tables.dsdt = tables.fadt + aligned(kAcpiFadtSize);
    tables.madt = tables.dsdt + aligned(dsdt.size());
    const std::uint64_t end = tables.madt + madt.size();
    if (address > 0xffff'ffff || end > 0x1'0000'0000)
        throw std::logic_error("ACPI: the tables must lie below 4 GiB (the RSDP's 32-bit fields, the MADT's)");

    const auto place = [&](std::uint64_t at, const std::vector<std::uint8_t>& table) {
        const std::uint64_t offset = at - address;
        if (tables.bytes.size() < offset + table.size())
            tables.bytes.resize(offset + table.size(), 0);
        std::copy(table.begin(), table.end(), tables.bytes.begin() + static_cast<std::ptrdiff_t>(offset));
    };
    place(tables.rsdp, build_rsdp(tables.xsdt));
    place(tables.xsdt, build_xsdt(tables.fadt, tables.madt));
    place(tables.fadt, build_fadt(tables.dsdt));
    place(tables.dsdt, dsdt);
    place(tables.madt, madt);
    return tables;
}

std::uint64_t write_acpi_tables(const GuestMemory& memory, const AcpiTablesOptions& options)
{
    const auto tables = build_acpi_tables(options, layout::kAcpiTablesAddress);
    static_assert(layout::kAcpiTablesAddress >= layout::kLegacyHoleStart
            && layout::kAcpiTablesEnd <= layout::kMpConfigTableAddress,
        "the ACPI area is in the BIOS area and ends where the MP configuration table starts");
    if (tables.bytes.size() > layout::kAcpiTablesEnd - layout::kAcpiTablesAddress)
        throw std::logic_error("ACPI: the tables outgrow their area");
    if (!memory.write(layout::kAcpiTablesAddress, tables.bytes))
        throw std::logic_error("boot: the ACPI table area is not guest RAM");
    return tables.rsdp;
}

} // namespace minivmm::boot
