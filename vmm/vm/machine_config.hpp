// MachineConfig: the vmstate section that rebuilds a snapshotted machine (issue "Snapshot and
// restore"): vCPU count, the RAM layout DIR/memory follows, the devices with their ids and
// backings (each disk with the size and identity it had), the command line the guest got, the
// CPU template and the limits. `minivmm run --restore` turns it back into a VmConfig; everything
// read is validated, and a disk that is missing or changed size is refused before anything starts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vmm/memory/memory_layout.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"
#include "vmm/vm/vm_config.hpp"

namespace minivmm::vm {

struct SavedDisk {
    std::string spec; // the --disk text it was built from
    std::string id;   // blk0.. or its id=
    std::string path;
    std::uint64_t size = 0;   // bytes, when the snapshot was taken
    std::uint64_t device = 0; // st_dev and st_ino of the image then (informational: a copy differs)
    std::uint64_t inode = 0;
};

struct MachineConfig {
    unsigned cpus = 1;
    std::vector<layout::RamRange> ram; // in guest-address order; DIR/memory holds them back to back
    std::string kernel_path;           // what was booted (for `info`; restore does not read it)
    std::string cmdline;
    std::string cpu_template;
    std::vector<SavedDisk> disks;
    std::vector<std::string> nets; // --net texts
    std::optional<double> cpu_limit;
    std::vector<std::uint32_t> vcpu_priorities;
    std::uint64_t cpu_period_ns = 0;
    std::optional<std::uint64_t> memory_limit;
    std::uint64_t memory_reserve = 0;

    [[nodiscard]] std::uint64_t ram_bytes() const;
};

void write_machine_config(snapshot::StateWriter& out, const MachineConfig& machine);
// Throws SnapshotError for anything a minivmm could not have written: a vCPU count outside
// 1..254, a RAM layout other than layout::ram_ranges(total), over-long strings, too many devices.
[[nodiscard]] MachineConfig read_machine_config(snapshot::StateReader& in);

// What `run --restore` may change: a disk's path (`--disk id=ID,path=NEWPATH`).
struct RestoreOverrides {
    std::map<std::string, std::string> disk_paths; // id -> new path
};

// The VmConfig that rebuilds `machine` (limits and devices as they were), with `overrides`
// applied. Throws UserError for a disk that is missing, not a regular file or block device, or
// whose size changed, and for an override naming no disk of the snapshot.
[[nodiscard]] VmConfig restore_vm_config(const MachineConfig& machine, const RestoreOverrides& overrides);

// `--disk` text with its path= replaced (the other keys kept in order).
[[nodiscard]] std::string disk_spec_with_path(const std::string& spec, const std::string& path);

} // namespace minivmm::vm
