// backup_disk: `minivmm disk backup SRC DST`, a verified sparse copy of a raw disk image.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace minivmm::disk {

// Called after each copied chunk with the data bytes copied so far and the total to copy
// (the size of SRC's data extents, not its apparent size); the CLI draws a progress bar.
using BackupProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct BackupResult {
    std::uint64_t size = 0;       // apparent size, the same for both files
    std::uint64_t data_bytes = 0; // bytes read from SRC's data extents
    std::uint64_t checksum = 0;   // disk_checksum of both files
};

// 1. Opens SRC and takes LOCK_EX (UserError "disk SRC is in use by a running VM" when a VMM
//    holds it), refuses when DST exists (UserError).
// 2. Copies only SRC's data extents (SEEK_DATA / SEEK_HOLE) into a temporary file next to DST,
//    leaving holes as holes (zero chunks inside extents become holes too) and keeping the size.
// 3. fsyncs it, verifies disk_checksum(SRC) == disk_checksum(copy) (SysError EIO otherwise),
//    renames it to DST without replacing anything that appeared meanwhile, fsyncs the directory.
// On any failure the temporary file is removed and DST does not exist.
BackupResult backup_disk(const std::string& source, const std::string& destination,
                         const BackupProgress& progress = {});

// Step 2 alone, for tests: copies the data extents of `source_fd` ([0, size)) into
// `destination_fd`, which must already have that size and be all hole. Returns the bytes read.
std::uint64_t copy_data_extents(int source_fd, int destination_fd, std::uint64_t size,
                                const BackupProgress& progress);

// The verification of step 3 alone: returns the common checksum or throws SysError (EIO)
// naming `source_path` when the contents differ.
std::uint64_t verify_copy(int source_fd, int destination_fd, std::uint64_t size,
                          const std::string& source_path);

} // namespace minivmm::disk
