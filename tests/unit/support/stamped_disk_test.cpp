// Tests for the blkstamp checker (tests/support/stamped_disk.hpp): an image is accepted exactly
// when it is the disk at one instant of the guest's write sequence.
#include <catch2/catch.hpp>

#include "tests/support/stamped_disk.hpp"

using namespace minivmm::testing;

namespace {

const StampLayout kLayout{1024, 64, 7};

std::vector<std::uint8_t> image_after(std::uint64_t writes)
{
    std::vector<std::uint8_t> image(std::size_t(kLayout.blocks) * kLayout.block_size, 0);
    apply_stamped_writes(image, kLayout, 1, writes);
    return image;
}

std::uint32_t block_of_write(std::uint64_t n)
{
    StampOrder order(kLayout);
    std::uint32_t block = 0;
    for (std::uint64_t i = 1; i <= n; ++i)
        block = order.next();
    return block;
}

void put_block(std::vector<std::uint8_t>& image, std::uint32_t block, const std::vector<std::uint8_t>& bytes)
{
    std::copy(bytes.begin(), bytes.end(), image.begin() + std::size_t(block) * kLayout.block_size);
}

} // namespace

TEST_CASE("blkstamp order: the LCG block sequence of the guest (x = 1664525 x + 1013904223, block = x*blocks >> 32)")
{
    StampOrder order(StampLayout{4096, 100, 1});
    // x1 = 1664525 + 1013904223 = 1015568748; (1015568748 * 100) >> 32 = 23.
    CHECK(order.next() == 23);
    // x2 = 1015568748 * 1664525 + 1013904223 mod 2^32 = 1586005467; (x2 * 100) >> 32 = 36.
    CHECK(order.next() == 36);
}

TEST_CASE("blkstamp checker: the disk after any number of writes is consistent, with the cut at the last write")
{
    for (std::uint64_t writes : {0u, 1u, 10u, 63u, 500u}) {
        const auto check = check_stamped_image(image_after(writes), kLayout);
        INFO("writes " << writes << ": " << check.problem);
        CHECK(check.consistent);
        CHECK(check.cut == writes);
    }
}

TEST_CASE("blkstamp checker: a block from after the cut is caught (a copy that missed copy-before-write)")
{
    // The copy at cut 200, but one block already holds a later write.
    auto image = image_after(200);
    const std::uint64_t later = 260;
    const std::uint32_t block = block_of_write(later);
    put_block(image, block, stamped_block(kLayout, later, block));
    // The newest stamp is now 260, so the cut moves up and the other blocks look stale; either
    // way the image is not one instant unless writes 201..259 left no trace, which they did.
    const auto check = check_stamped_image(image, kLayout);
    CHECK_FALSE(check.consistent);
    CHECK(check.problem.find("not the disk at one instant") != std::string::npos);
}

TEST_CASE("blkstamp checker: a block older than the cut is caught (an old block missing its newer write)")
{
    auto image = image_after(300);
    // Write 300's block went back to what it held at cut 150, but the cut is still high through
    // the other blocks.
    const std::uint32_t block = block_of_write(280);
    auto older = image_after(150);
    std::vector<std::uint8_t> old_block(older.begin() + std::size_t(block) * kLayout.block_size,
        older.begin() + std::size_t(block + 1) * kLayout.block_size);
    put_block(image, block, old_block);
    const auto check = check_stamped_image(image, kLayout);
    CHECK_FALSE(check.consistent);
    CHECK(check.problem.find("block " + std::to_string(block)) != std::string::npos);
}

TEST_CASE("blkstamp checker: a block torn between two writes, or stamped for another block, is corrupt")
{
    auto image = image_after(100);
    const std::uint32_t block = block_of_write(100);
    SECTION("torn: second sector from another write")
    {
        const auto other = stamped_block(kLayout, 99, block);
        std::copy(other.begin() + 512, other.begin() + 1024, image.begin() + std::size_t(block) * kLayout.block_size + 512);
    }
    SECTION("a stamp naming another block")
    {
        put_block(image, block, stamped_block(kLayout, 100, block + 1));
    }
    SECTION("a stray nonzero byte after the stamp")
    {
        image[std::size_t(block) * kLayout.block_size + 100] = 1;
    }
    const auto check = check_stamped_image(image, kLayout);
    CHECK_FALSE(check.consistent);
    CHECK(check.problem.find("torn or corrupt") != std::string::npos);
}

TEST_CASE("blkstamp checker: a block zeroed although written before the cut is caught")
{
    auto image = image_after(100);
    put_block(image, block_of_write(40) == block_of_write(100) ? block_of_write(41) : block_of_write(40),
        std::vector<std::uint8_t>(kLayout.block_size, 0));
    CHECK_FALSE(check_stamped_image(image, kLayout).consistent);
}

TEST_CASE("blkstamp checker: a short image or a bad layout is reported, not read past")
{
    CHECK_FALSE(check_stamped_image(std::vector<std::uint8_t>(100, 0), kLayout).consistent);
    CHECK_FALSE(check_stamped_image(image_after(5), StampLayout{1000, 64, 7}).consistent);
    CHECK_FALSE(check_stamped_image(image_after(5), StampLayout{1024, 0, 7}).consistent);
}
