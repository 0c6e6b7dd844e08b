// SavedBlocks: a fixed pool of block-sized buffers holding the old contents that copy-before-write
// read on the guest's write path, until the background copier writes them to DEST. With it the
// guest's write waits for one read of its own disk, never for DEST: writes to DEST take turns on
// DEST's inode lock and wait in the block layer's writeback throttling, which the copier's own
// large writes hold for milliseconds at a time (measured with tools/bench/api: up to 78 ms for
// one guest write when copy-before-write wrote DEST itself). Bounded: when every buffer waits for
// the copier, the write path waits for one to come free.
//
// Threads: the write path (acquire, publish) and the copier (take) may be different threads,
// and either releases; close() may come from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace minivmm::backup {

class SavedBlocks {
public:
    // One buffer: `data` holds `length` bytes of block `block` once published.
    struct Slot {
        std::uint32_t index = 0;
        std::uint8_t* data = nullptr;
        std::uint64_t block = 0;
        std::uint64_t length = 0;
    };

    // `slots` buffers of `slot_bytes` each, allocated here (the threads using them then need no
    // allocation system call).
    SavedBlocks(std::uint32_t slots, std::uint64_t slot_bytes);
    SavedBlocks(const SavedBlocks&) = delete;
    SavedBlocks& operator=(const SavedBlocks&) = delete;

    [[nodiscard]] std::uint64_t slot_bytes() const { return m_slot_bytes; }

    // Write path: a free buffer, waiting while all are taken; nullopt once closed.
    [[nodiscard]] std::optional<Slot> acquire();
    // Write path: `slot` now holds `length` bytes of `block`; queued for the copier.
    void publish(Slot slot, std::uint64_t block, std::uint64_t length);

    // Copier: the oldest published buffer, or nullopt when none waits. Does not wait.
    [[nodiscard]] std::optional<Slot> take();
    // The buffer is free again (wakes a waiting acquire): the copier's, once written out, or the
    // write path's, acquired but not filled because the read failed. Either thread.
    void release(const Slot& slot);
    [[nodiscard]] bool has_published() const;

    // No more acquires: waiting and later ones return nullopt (the backup ended or failed; the
    // guest's writes must not wait for it). Published buffers stay until taken.
    void close();

private:
    std::uint64_t m_slot_bytes;
    std::vector<std::uint8_t> m_memory;

    mutable std::mutex m_mutex;
    std::condition_variable m_freed; // a buffer came free, or closed
    std::vector<std::uint32_t> m_free;
    std::deque<Slot> m_published;
    bool m_closed = false;
};

} // namespace minivmm::backup
