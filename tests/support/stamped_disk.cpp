// stamped_disk: the blkstamp guest's stamps, its write order replayed, and the single-instant
// checker (see the header).
#include "tests/support/stamped_disk.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace minivmm::testing {
namespace {

constexpr std::uint32_t kSector = 512;
constexpr std::uint32_t kMagic = 0x5453564d; // "MVST" little-endian

struct SectorStamp {
    std::uint32_t magic;
    std::uint32_t sector_in_block;
    std::uint64_t sequence;
    std::uint64_t block;
    std::uint64_t seed;
};
static_assert(sizeof(SectorStamp) == 32);

} // namespace

std::vector<std::uint8_t> stamped_block(const StampLayout& layout, std::uint64_t sequence, std::uint32_t block)
{
    std::vector<std::uint8_t> bytes(layout.block_size, 0);
    for (std::uint32_t sector = 0; sector < layout.block_size / kSector; ++sector) {
        const SectorStamp stamp{kMagic, sector, sequence, block, layout.seed};
        std::memcpy(bytes.data() + std::size_t(sector) * kSector, &stamp, sizeof stamp);
    }
    return bytes;
}

void apply_stamped_writes(std::vector<std::uint8_t>& image, const StampLayout& layout, std::uint64_t first,
    std::uint64_t last)
{
    StampOrder order(layout);
    for (std::uint64_t n = 1; n <= last; ++n) {
        const std::uint32_t block = order.next();
        if (n < first)
            continue;
        const auto bytes = stamped_block(layout, n, block);
        std::copy(bytes.begin(), bytes.end(), image.begin() + std::size_t(block) * layout.block_size);
    }
}

StampCheck check_stamped_image(std::span<const std::uint8_t> image, const StampLayout& layout)
{
    StampCheck check;
    const std::size_t block_size = layout.block_size;
    if (layout.blocks == 0 || block_size < kSector || block_size % kSector != 0) {
        check.problem = "bad layout: need blocks > 0 and a block size that is a multiple of 512";
        return check;
    }
    if (image.size() < std::size_t(layout.blocks) * block_size) {
        check.problem = fmt::format("the image has {} bytes, less than {} blocks of {}", image.size(),
            layout.blocks, block_size);
        return check;
    }
    // 1. What each block holds: 0 (all zero) or the one sequence number it is exactly stamped with.
    std::vector<std::uint64_t> found(layout.blocks, 0);
    for (std::uint32_t block = 0; block < layout.blocks; ++block) {
        const auto bytes = image.subspan(std::size_t(block) * block_size, block_size);
        if (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }))
            continue;
        SectorStamp stamp{};
        std::memcpy(&stamp, bytes.data(), sizeof stamp);
        const auto expected = stamped_block(layout, stamp.sequence, block);
        if (stamp.magic != kMagic || stamp.sequence == 0
            || !std::equal(bytes.begin(), bytes.end(), expected.begin())) {
            check.problem = fmt::format("block {} is neither all zero nor exactly one stamped write (first stamp says "
                                        "write {} to block {}): torn or corrupt",
                block, stamp.sequence, stamp.block);
            return check;
        }
        found[block] = stamp.sequence;
        ++check.stamped_blocks;
        check.cut = std::max(check.cut, stamp.sequence);
    }
    // 2. The disk at cut c: replay writes 1..c.
    std::vector<std::uint64_t> last_write(layout.blocks, 0);
    StampOrder order(layout);
    for (std::uint64_t n = 1; n <= check.cut; ++n)
        last_write[order.next()] = n;
    // 3. Every block must hold exactly that.
    for (std::uint32_t block = 0; block < layout.blocks; ++block) {
        if (found[block] == last_write[block])
            continue;
        check.problem = fmt::format("block {} holds write {} but at cut {} (the newest write in the image) its last "
                                    "write is {}: the image is not the disk at one instant",
            block, found[block], check.cut, last_write[block]);
        return check;
    }
    check.consistent = true;
    return check;
}

std::vector<std::uint8_t> read_whole_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace minivmm::testing
