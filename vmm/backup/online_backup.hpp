// OnlineBackup: a point-in-time copy of a running VM's virtio-blk disk (the engine behind
// `POST /v1/disks/{id}/backup`). DEST becomes exactly the disk as it was when start() returned,
// while the guest keeps reading and writing: copy-before-write (a guest write to a block not
// yet copied first copies the old block to DEST, through VirtioBlk's WriteInterceptor seam)
// plus a background copier (on the VM's backup thread) for the rest, sparse (holes and zero blocks stay holes),
// limited to a bandwidth by a token bucket that the copy-before-write copies are charged to
// but never wait for. The guest's disk and I/O are never harmed: a failing backup (DEST's file
// system full, unwritable, cancelled) ends with a one-line error, its partial file removed and
// copy-before-write off.
//
// Threads. start(), before_write() and the destructor run on the device's thread with the
// transport's lock held (VirtioMmioTransport::with_device, or the event loop's own calls into
// the device): they touch the VirtioBlk. progress(), cancel() and wait_for() may be called from
// any thread. Everything that opens, scans, copies, publishes or removes files runs on the VM's
// BackupWorker (backup_worker.hpp), under the "backup" seccomp allow-list
// (vmm/sandbox/allow_lists.cpp): start() hands it "open the files" and "scan the holes" and
// waits, then hands it the copy. The device's thread makes no call the event loop's list lacks:
// before_write() reads with preadv (base/exact_io.hpp) and waits on futexes.
//
// What a guest write waits for: never DEST. Copy-before-write reads the old block into a
// SavedBlocks buffer (saved_blocks.hpp) that the copier writes out; the copier lets go of its
// claimed blocks once it has read them, before it writes DEST. So a write waits for at most one
// read of the disk (its own, or the copier's run of kMaxRunBytes), or for a free buffer when
// kSavedBlocks of them wait for DEST.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/blk/write_interceptor.hpp"
#include "vmm/backup/backup_file.hpp"
#include "vmm/backup/backup_progress.hpp"
#include "vmm/backup/backup_worker.hpp"
#include "vmm/backup/block_claims.hpp"
#include "vmm/backup/saved_blocks.hpp"
#include "vmm/base/expected.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/token_bucket.hpp"

namespace minivmm::backup {

struct BackupOptions {
    std::string path;                                   // DEST: must not exist
    std::optional<std::uint64_t> bandwidth_bytes_per_s; // none: as fast as the disks go
};

class OnlineBackup final : public virtio::WriteInterceptor {
public:
    // The copy-before-write granularity: a guest write copies at most the blocks it touches.
    static constexpr std::uint64_t kBlockSize = 64 * 1024;
    // The background copier's largest single read and write (a run of untouched data blocks).
    // Small on purpose: a guest write's copy-before-write writes into the same DEST file, and
    // writes to one file take turns on its inode lock, so the guest waits for at most one run.
    // Measured with tools/bench/api's busy phase: 1 MiB runs left the guest 0.56x of its write
    // rate, 128 KiB 0.74x (64 KiB no better), and the whole backup got faster too.
    static constexpr std::uint64_t kMaxRunBytes = 128 * 1024;
    // Buffers for old blocks that copy-before-write read and the copier has not written yet
    // (64 x 64 KiB = 4 MiB per running backup).
    static constexpr std::uint32_t kSavedBlocks = 64;
    // How often a copier waiting for tokens looks whether its next block was copied meanwhile.
    static constexpr std::chrono::milliseconds kReplanInterval{50};

    // Starts a backup of `disk` to options.path: refuses (one-line error, nothing created) when
    // DEST exists or its directory cannot take the temporary file, when bandwidth is 0, or when
    // `disk` already has a write interceptor (another backup: destroy a finished one before
    // starting the next). Then completes the writes already in flight (quiesce_writes), notes
    // which blocks hold data, installs copy-before-write and hands the copy to `worker`: the
    // point in time is "now", after every write the guest has seen complete. `disk` and `worker`
    // must outlive the backup, and `worker` must not be stopped yet. The worker runs one job at a
    // time: start() waits for its current one, so a caller that runs several backups on one
    // worker refuses a start while another is Running (VmController does, with 409).
    static Expected<std::unique_ptr<OnlineBackup>, std::string> start(virtio::VirtioBlk& disk, BackupOptions options,
        BackupWorker& worker);

    // Cancels a running backup (its partial file is removed), waits for the copier to end and
    // removes the interceptor from the disk.
    ~OnlineBackup() override;
    OnlineBackup(const OnlineBackup&) = delete;
    OnlineBackup& operator=(const OnlineBackup&) = delete;

    [[nodiscard]] BackupProgress progress() const;
    // Stops a running backup: state Cancelled once the copier has cleaned up (wait_for()).
    // No effect on a backup that already ended.
    void cancel();
    // Waits up to `timeout` for the backup to end; returns the state then.
    BackupState wait_for(std::chrono::milliseconds timeout) const;

    // WriteInterceptor: returns once the old contents of every block the range touches are safe:
    // in DEST, or in memory on their way there (read here into a saved buffer, or by the copier
    // while this waits), or at once when copy-before-write is off (the backup ended or failed).
    void before_write(std::uint64_t offset, std::uint64_t length) override;

private:
    OnlineBackup(virtio::VirtioBlk& disk, BackupWorker& worker, UniqueFd source, std::unique_ptr<BackupFile> file,
        std::uint64_t size, std::optional<std::uint64_t> bandwidth);

    void scan_data_blocks();
    void run_copier();
    void copy_in_background();
    enum class Tokens { Taken, Replan, Stop };
    // Waits until the bucket grants `bytes` plus the copy-before-write debt; Replan when
    // `first_block` stopped being untouched meanwhile (a guest write copied it), Stop when the
    // backup was cancelled or failed.
    Tokens take_tokens(std::uint64_t bytes, std::uint64_t first_block);
    [[nodiscard]] std::uint64_t run_limit() const;
    // Copies blocks [first, first + count) that the caller claimed, from `buffer` (already
    // read): zero blocks are left as holes. 0 or -errno of the failing write.
    int write_blocks(const std::uint8_t* buffer, std::uint64_t first, std::uint64_t count);
    void copy_before_write(std::uint64_t block);
    // Copier: writes every block copy-before-write saved so far to DEST.
    void write_saved_blocks();
    // Copier: waits up to `timeout` for a saved block, a stop, or `block` becoming Done.
    void wait_for_work(std::uint64_t block, std::chrono::nanoseconds timeout);
    // Write path: wakes the copier (a block was saved or finished).
    void wake_copier();
    [[nodiscard]] bool verify() const;
    void finish();
    void fail(std::string reason);

    virtio::VirtioBlk& m_disk;
    BackupWorker& m_worker;
    UniqueFd m_source; // the disk image, opened again read-only and without O_DIRECT
    std::unique_ptr<BackupFile> m_file;
    BlockClaims m_claims;
    limiter::MonotonicClock m_clock;
    std::optional<limiter::TokenBucket> m_bucket; // used by the copier only
    std::atomic<std::uint64_t> m_debt{0};         // copy-before-write bytes the copier still pays for
    SavedBlocks m_saved;                           // old blocks read by copy-before-write
    std::vector<std::uint8_t> m_copier_buffer;     // one run, copier (worker) only

    std::atomic<bool> m_intercepting{false}; // copy-before-write on
    std::atomic<bool> m_stop{false};         // cancelled or failed: the copier stops
    std::atomic<std::uint64_t> m_bytes_total{0};
    std::atomic<std::uint64_t> m_bytes_copied{0};
    std::atomic<std::uint64_t> m_bytes_written{0};
    std::atomic<std::uint64_t> m_writes_intercepted{0};
    std::atomic<std::uint64_t> m_blocks_before_write{0};
    std::atomic<std::uint64_t> m_blocks_background{0};
    std::atomic<std::uint64_t> m_blocks_holes{0};

    mutable std::mutex m_mutex; // guards the members below
    mutable std::condition_variable m_changed; // m_stop set, the backup ended, or work for the copier
    BackupState m_state = BackupState::Running;
    bool m_cancel_requested = false;
    std::string m_error;
    std::chrono::steady_clock::time_point m_started;
    std::optional<std::chrono::steady_clock::time_point> m_ended;

    std::future<void> m_copier_done; // the copy job on the worker; invalid until start() posted it
};

} // namespace minivmm::backup
