// The vmstate file of a snapshot directory (issue "Snapshot and restore"; DESIGN.md, "The
// control plane"): a header (magic, format version, length, checksum of the whole file) and then
// typed, length-prefixed sections. This file is the whole on-disk format; docs/ARCHITECTURE.md
// ("Snapshots") describes it byte by byte.
//
// A vmstate is hostile input: decode_vmstate checks the magic, the version, the checksum, every
// section's length against the file, each section type against the known ones and for
// duplicates, before any section is handed out. Each section's payload is then read with a
// StateReader by the part that wrote it, which validates its own fields.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vmm/snapshot/state_reader.hpp"

namespace minivmm::snapshot {

// Bump on any change of any section's layout; a reader refuses versions other than its own
// ("written by a newer minivmm" / "an older minivmm").
inline constexpr std::uint32_t kVmstateVersion = 1;
// A vmstate holds registers and device registers, never guest RAM (that is DIR/memory): a bound
// well above any real one keeps a hostile length from allocating gigabytes.
inline constexpr std::uint64_t kMaxVmstateSize = 64ull << 20;

enum class SectionType : std::uint32_t {
    MachineConfig = 1, // what rebuilds the machine: vCPUs, memory layout, devices, cmdline, limits
    Vcpu = 2,          // instance = vCPU index: regs, sregs, FPU/XSAVE, XCRs, LAPIC, MSRs, events...
    Irqchip = 3,       // the in-kernel PIC master, PIC slave and IOAPIC
    Pit = 4,           // the in-kernel PIT (KVM_GET_PIT2)
    Clock = 5,         // kvmclock (KVM_GET_CLOCK)
    Device = 6,        // instance = device index in MachineConfig order; payload from Snapshottable
    Limiter = 7,       // the limiter's buckets and budgets
};

// The header's fixed part (docs/ARCHITECTURE.md, "Snapshots"): magic, version, flags, total
// length, CRC32C, section count; then each section is a 16-byte header and its payload.
inline constexpr char kVmstateMagic[8] = {'M', 'V', 'M', 'S', 'T', 'A', 'T', 'E'};
inline constexpr std::size_t kVmstateHeaderSize = 32;
inline constexpr std::size_t kSectionHeaderSize = 16;

// "vcpu 1", "device 3", "irqchip": how errors and StateReaders name a section.
[[nodiscard]] std::string section_name(SectionType type, std::uint32_t instance);

struct Section {
    SectionType type {};
    std::uint32_t instance = 0;
    std::vector<std::uint8_t> payload;
};

struct Vmstate {
    std::vector<Section> sections;
    // The section of `type` and `instance`; throws SnapshotError "missing section ..." when absent.
    [[nodiscard]] const Section& find(SectionType type, std::uint32_t instance = 0) const;
    [[nodiscard]] bool has(SectionType type, std::uint32_t instance = 0) const;
};

[[nodiscard]] std::vector<std::uint8_t> encode_vmstate(const Vmstate& state);
// Throws SnapshotError with one line: bad magic, other version, checksum mismatch, truncated,
// a section running past the end, an unknown type, a duplicate (type, instance), trailing bytes.
[[nodiscard]] Vmstate decode_vmstate(std::span<const std::uint8_t> file);
// A StateReader over one section's payload, named after the section for its errors.
[[nodiscard]] StateReader section_reader(const Section& section);

// DIR/vmstate, written atomically (a temporary name, fsync, rename, fsync of DIR): a snapshot
// that fails half-way leaves no vmstate, so no DIR that looks valid.
void write_vmstate_file(const std::string& directory, const Vmstate& state);
// Reads and decodes DIR/vmstate (at most kMaxVmstateSize bytes). Throws SnapshotError.
[[nodiscard]] Vmstate read_vmstate_file(const std::string& directory);

} // namespace minivmm::snapshot
