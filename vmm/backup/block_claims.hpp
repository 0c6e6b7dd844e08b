// BlockClaims: the copy-before-write bookkeeping of an online backup: one state per fixed-size
// block of the disk (untouched -> claimed -> done) with an atomic claim, so the background
// copier and the guest's write path each copy a block at most once between them, and whoever
// needs a block another party claimed waits until it is done.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace minivmm::backup {

// The blocks [first, last] that a byte range touches.
struct BlockSpan {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

class BlockClaims {
public:
    enum class State : std::uint8_t { Untouched = 0, Claimed = 1, Done = 2 };

    // `disk_size` bytes cut into blocks of `block_size` (> 0) bytes; the last may be shorter.
    BlockClaims(std::uint64_t disk_size, std::uint64_t block_size);

    [[nodiscard]] std::uint64_t block_count() const { return m_count; }
    [[nodiscard]] std::uint64_t block_size() const { return m_block_size; }
    [[nodiscard]] std::uint64_t disk_size() const { return m_disk_size; }
    [[nodiscard]] std::uint64_t block_offset(std::uint64_t block) const { return block * m_block_size; }
    // Bytes of `block` inside the disk (block_size, or less for the last block).
    [[nodiscard]] std::uint64_t block_length(std::uint64_t block) const;
    // The blocks that [offset, offset + length) touches, clipped to the disk; false (span
    // untouched) when the range is empty or starts at or past the end.
    [[nodiscard]] bool span_of(std::uint64_t offset, std::uint64_t length, BlockSpan& span) const;

    // Before any claim (one thread): marks `block` as holding data at the point in time.
    // Blocks without the mark were holes then and need no copy.
    void mark_data(std::uint64_t block);
    [[nodiscard]] bool has_data(std::uint64_t block) const;

    // Untouched -> Claimed; true for exactly one caller per block, ever.
    [[nodiscard]] bool try_claim(std::uint64_t block);
    // Claimed -> Done by the claimer (also when its copy failed: the backup as a whole then
    // fails, and nobody may be left waiting); wakes every waiter.
    void finish(std::uint64_t block);
    // Returns once `block` is Done. Only for a block some party claimed or will claim.
    void wait_done(std::uint64_t block) const;
    [[nodiscard]] State state(std::uint64_t block) const;
    // How many blocks are Done (a scan; for the final verification and tests).
    [[nodiscard]] std::uint64_t done_count() const;

private:
    static constexpr std::uint8_t kStateMask = 0x3;
    static constexpr std::uint8_t kDataFlag = 0x4;

    std::uint64_t m_disk_size;
    std::uint64_t m_block_size;
    std::uint64_t m_count;
    // Low two bits: State; bit 2: has data. One byte per block: 16 KiB per GiB at 64 KiB blocks.
    std::unique_ptr<std::atomic<std::uint8_t>[]> m_blocks;
};

} // namespace minivmm::backup
