// BackupProgress: what an online backup reports while it runs and after it ended (the
// `GET /v1/disks/{id}/backup` answer): its state, bytes copied out of the bytes to copy, the
// copy-before-write work the guest's writes caused, and the one-line error of a failed backup.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace minivmm::backup {

enum class BackupState { Running, Completed, Failed, Cancelled };

// "running", "completed", "failed", "cancelled".
std::string_view to_string(BackupState state);

struct BackupProgress {
    BackupState state = BackupState::Running;
    std::string path;                  // DEST
    std::uint64_t bytes_copied = 0;    // of bytes_total: data blocks read (by either path)
    std::uint64_t bytes_total = 0;     // data blocks at the point in time (holes excluded)
    std::uint64_t bytes_written = 0;   // bytes written to DEST (zero blocks stay holes)
    std::uint64_t guest_writes_intercepted = 0; // writes/discards seen while copy-before-write was on
    std::uint64_t blocks_copied_before_write = 0; // blocks the guest's writes copied first
    std::uint64_t blocks_copied_in_background = 0;
    std::uint64_t blocks_skipped_as_holes = 0;
    std::string error;                 // one line; empty unless Failed
    std::chrono::milliseconds elapsed{0}; // since start; frozen when the backup ended
};

} // namespace minivmm::backup
