// Snapshot files (issue "Snapshot and restore"; README.md, "Snapshots"): DIR/memory and
// DIR/vmstate. write_snapshot_files runs on the VM's snapshot thread while every vCPU is parked:
// DIR/memory first (sparse, durable), DIR/vmstate last and atomically, so a DIR without a
// vmstate is never a snapshot and a failure half-way leaves none that looks valid.
// open_snapshot is the restore side: it reads and checks everything before a machine exists.
#pragma once

#include <cstdint>
#include <string>

#include "vmm/base/unique_fd.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/snapshot/vmstate_format.hpp"
#include "vmm/vm/machine_config.hpp"

namespace minivmm::vm {

inline constexpr const char* kMemoryFileName = "memory";

struct SnapshotFiles {
    std::string dir;
    snapshot::Vmstate state;
    MachineConfig machine;
    UniqueFd memory; // DIR/memory, its size checked against machine.ram
};

// Reads DIR/vmstate (hostile input: SnapshotError for anything wrong in it), decodes the
// machine config and opens DIR/memory. Throws UserError for a missing DIR/memory or one whose
// size does not match the RAM layout.
[[nodiscard]] SnapshotFiles open_snapshot(const std::string& dir);

struct SnapshotFileStats {
    std::uint64_t memory_bytes = 0;      // DIR/memory's length (all guest RAM)
    std::uint64_t memory_data_bytes = 0; // of which non-zero pages written (the rest are holes)
    bool created_dir = false;
};

// Creates DIR if it does not exist (its parent must); refuses a DIR that is not a directory or
// already holds a snapshot (UserError). Writes DIR/memory then DIR/vmstate; on any failure
// removes what it wrote (and DIR if it created it) and rethrows.
SnapshotFileStats write_snapshot_files(const std::string& dir, const GuestMemory& memory, const snapshot::Vmstate& state);

} // namespace minivmm::vm
