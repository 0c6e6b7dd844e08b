// stamped_disk: the host side of the `blkstamp` test guest (guest-images/testguests/blkstamp.c):
// its block order and stamp layout, a simulator that applies its writes to an image, and the
// checker that proves an image (an online backup, or the final disk) equals the disk at a
// single instant of the guest's write sequence: for some cut c, every block holds its last
// write numbered <= c (or is still all zero when no write <= c went to it).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace minivmm::testing {

// What the guest was started with (its `blkstamp.bs=`, `.blocks=`, `.seed=` keys; the guest
// prints all three on its `blkstamp: bs=... blocks=... seed=...` line).
struct StampLayout {
    std::uint32_t block_size = 4096;
    std::uint32_t blocks = 0;
    std::uint32_t seed = 1;
};

// The guest's block order: write n (n = 1, 2, ...) goes to block (x_n * blocks) >> 32 with the
// 32-bit LCG x_n = 1664525 x_(n-1) + 1013904223, x_0 = seed.
class StampOrder {
public:
    explicit StampOrder(const StampLayout& layout) : m_x(layout.seed), m_blocks(layout.blocks) {}
    std::uint32_t next()
    {
        m_x = m_x * 1664525u + 1013904223u;
        return static_cast<std::uint32_t>((std::uint64_t(m_x) * m_blocks) >> 32);
    }

private:
    std::uint32_t m_x;
    std::uint32_t m_blocks;
};

// The exact bytes of `block` after write `sequence` to it: every 512-byte sector starts with
// {u32 magic "MVST", u32 sector index in the block, u64 sequence, u64 block, u64 seed} (little
// endian) and is zero after that.
std::vector<std::uint8_t> stamped_block(const StampLayout& layout, std::uint64_t sequence, std::uint32_t block);

// Applies the guest's writes first..last (inclusive, 1-based) to `image` (tests build the
// images the guest would leave; `image` must hold blocks * block_size bytes).
void apply_stamped_writes(std::vector<std::uint8_t>& image, const StampLayout& layout, std::uint64_t first,
    std::uint64_t last);

struct StampCheck {
    bool consistent = false;
    std::uint64_t cut = 0;            // c: the highest sequence number in the image
    std::uint64_t stamped_blocks = 0; // blocks holding a stamp (the rest are all zero)
    std::string problem;              // the first inconsistency, one line; empty when consistent
};

// The checker. Every block of `image` (its first blocks * block_size bytes) must be all zero
// or exactly stamped_block(s, b) for some s; c is the highest s found; and then each block must
// hold exactly its last write numbered <= c (replaying the order 1..c), all zero if none.
// A block torn between two writes, a block older or newer than the cut, or a stamp for the wrong
// block all fail, naming the block. The disk must start all zero (a fresh sparse image).
StampCheck check_stamped_image(std::span<const std::uint8_t> image, const StampLayout& layout);

// The whole file (for checking images on disk); throws std::runtime_error when unreadable.
std::vector<std::uint8_t> read_whole_file(const std::string& path);

} // namespace minivmm::testing
