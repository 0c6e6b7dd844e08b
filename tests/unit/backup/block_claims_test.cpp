// Tests for BlockClaims, the copy-before-write bookkeeping: each block is claimed exactly once,
// by the copier or by a guest write, and whoever needs a block claimed by the other waits for it.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "vmm/backup/block_claims.hpp"

using minivmm::backup::BlockClaims;
using minivmm::backup::BlockSpan;
using State = BlockClaims::State;

TEST_CASE("block claims: blocks cover the disk, the last one shorter; spans are clipped to the disk")
{
    BlockClaims claims(10 * 4096 + 512, 4096);
    CHECK(claims.block_count() == 11);
    CHECK(claims.block_length(0) == 4096);
    CHECK(claims.block_length(10) == 512);
    BlockSpan span;
    REQUIRE(claims.span_of(4095, 2, span)); // straddles blocks 0 and 1
    CHECK(span.first == 0);
    CHECK(span.last == 1);
    REQUIRE(claims.span_of(8192, 4096, span)); // exactly block 2
    CHECK((span.first == 2 && span.last == 2));
    REQUIRE(claims.span_of(40000, 1 << 20, span)); // runs past the end: clipped
    CHECK((span.first == 9 && span.last == 10));
    CHECK_FALSE(claims.span_of(10 * 4096 + 512, 512, span)); // starts at the end (the disk grew)
    CHECK_FALSE(claims.span_of(0, 0, span));
    CHECK_FALSE(claims.span_of(~std::uint64_t(0) - 10, 100, span)); // no overflow
}

TEST_CASE("block claims: a block is claimed once; the claimer finishes it; data marks are kept")
{
    BlockClaims claims(4 * 4096, 4096);
    claims.mark_data(1);
    CHECK(claims.has_data(1));
    CHECK_FALSE(claims.has_data(0));
    CHECK(claims.state(1) == State::Untouched);
    CHECK(claims.try_claim(1));
    CHECK(claims.state(1) == State::Claimed);
    CHECK_FALSE(claims.try_claim(1));
    claims.finish(1);
    CHECK(claims.state(1) == State::Done);
    CHECK_FALSE(claims.try_claim(1));
    CHECK(claims.has_data(1)); // the state change kept the mark
    CHECK(claims.done_count() == 1);
    claims.wait_done(1); // returns at once
}

TEST_CASE("block claims: a waiter for a block the other party claimed returns only after it finished")
{
    BlockClaims claims(4096, 4096);
    REQUIRE(claims.try_claim(0));
    std::atomic<bool> copied{false};
    std::atomic<bool> waiter_saw_copy{false};
    std::thread waiter([&] {
        claims.wait_done(0);
        waiter_saw_copy = copied.load();
    });
    // The "copy" happens strictly before finish(); the waiter must observe it.
    copied = true;
    claims.finish(0);
    waiter.join();
    CHECK(waiter_saw_copy);
}

TEST_CASE("block claims: a copier and a writer racing over every block claim each exactly once")
{
    constexpr std::uint64_t kBlocks = 20000;
    BlockClaims claims(kBlocks * 512, 512);
    std::vector<std::atomic<int>> copies(kBlocks);
    std::atomic<std::uint64_t> by_copier{0};
    std::atomic<std::uint64_t> by_writer{0};
    std::atomic<std::uint64_t> written_before_done{0}; // Catch2 assertions are not thread-safe
    auto copy = [&](std::uint64_t block, std::atomic<std::uint64_t>& counter) {
        ++copies[block];
        ++counter;
        claims.finish(block);
    };
    std::thread copier([&] {
        for (std::uint64_t b = 0; b < kBlocks; ++b)
            if (claims.try_claim(b))
                copy(b, by_copier);
    });
    std::thread writer([&] {
        // Writes from the far end, spanning three blocks each, waiting for the ones it lost.
        for (std::uint64_t b = kBlocks; b >= 3; b -= 3) {
            for (std::uint64_t i = b - 3; i < b; ++i) {
                if (claims.try_claim(i))
                    copy(i, by_writer);
                else
                    claims.wait_done(i);
                if (claims.state(i) != State::Done) // the old data must be safe before the write
                    ++written_before_done;
            }
        }
    });
    copier.join();
    writer.join();
    CHECK(written_before_done == 0);
    CHECK(claims.done_count() == kBlocks);
    CHECK(by_copier + by_writer == kBlocks);
    std::uint64_t wrong = 0;
    for (auto& count : copies)
        wrong += count.load() == 1 ? 0 : 1;
    CHECK(wrong == 0);
}
