// DIR/memory of a snapshot (issue "Snapshot and restore"): the guest's RAM regions back to back
// in guest-address order, as a sparse file whose all-zero 4 KiB pages are holes; and the way back,
// a copy-on-write mapping of that file (MAP_PRIVATE), so a restore reads no page before the guest
// touches it and two VMs restored from one file share its unchanged pages and nothing else.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm {

inline constexpr std::uint64_t kMemoryFilePageSize = 4096;

struct MemoryFileStats {
    std::uint64_t total_bytes = 0; // the file's length (all RAM)
    std::uint64_t data_bytes = 0;  // bytes written (non-zero pages); the rest are holes
};

// Writes `memory` to `fd` (an empty file) and makes it durable (fdatasync). Throws SysError
// (ENOSPC on a full disk) naming `name`.
MemoryFileStats write_memory_file(int fd, const GuestMemory& memory, const std::string& name);

// Maps `fd` privately as guest RAM with `ranges`' layout. Throws UserError when the file's size
// is not the layout's total (a memory file that does not belong to the snapshot).
[[nodiscard]] GuestMemory map_memory_file(int fd, std::span<const layout::RamRange> ranges, const std::string& name);

} // namespace minivmm
