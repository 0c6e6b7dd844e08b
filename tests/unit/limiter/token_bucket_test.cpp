// Tests for TokenBucket on a manual clock: refill, one-time burst, exact waits, oversize requests.
#include <catch2/catch.hpp>

#include "tests/unit/limiter/manual_clock.hpp"
#include "vmm/limiter/token_bucket.hpp"

using namespace minivmm::limiter;
using minivmm::testing::ManualClock;
using namespace std::chrono_literals;

TEST_CASE("bucket: starts empty, so a rate holds from the first second, and refills at its rate", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(1000, 1000, 0, clock);
    CHECK_FALSE(bucket.try_consume(1));
    CHECK(bucket.time_until_available(1000) == 1s);
    clock.advance(1s);
    CHECK(bucket.try_consume(1000));
    CHECK_FALSE(bucket.try_consume(1));
    CHECK(bucket.time_until_available(1) == 1ms);
    clock.advance(999us);
    CHECK_FALSE(bucket.try_consume(1));
    clock.advance(1us);
    CHECK(bucket.try_consume(1));
    clock.advance(250ms);
    CHECK(bucket.tokens() == 250);
}

TEST_CASE("bucket: a refused request takes nothing", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(60));
    CHECK_FALSE(bucket.try_consume(50));
    CHECK(bucket.tokens() == 40);
}

TEST_CASE("bucket: waiting times are exact when the rate does not divide a second",
          "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(3, 3, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(3));
    // One token takes 1/3 s = 333333333.33 ns: 333333334 ns, rounded up.
    CHECK(bucket.time_until_available(1) == 333333334ns);
    clock.advance(333333333ns);
    CHECK_FALSE(bucket.try_consume(1));
    clock.advance(1ns);
    CHECK(bucket.try_consume(1));
    // The 2e-9 token refilled beyond that one is kept: the second token is due at 666666667 ns.
    CHECK(bucket.time_until_available(1) == 333333333ns);
    clock.advance(333333332ns);
    CHECK_FALSE(bucket.try_consume(1));
    clock.advance(1ns);
    CHECK(bucket.try_consume(1));
}

TEST_CASE("bucket: an idle bucket refills only up to its size", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(100));
    clock.advance(10s);
    CHECK(bucket.tokens() == 100);
    CHECK(bucket.try_consume(100));
    CHECK_FALSE(bucket.try_consume(1));
    CHECK(bucket.time_until_available(1) == 10ms);
}

TEST_CASE("bucket: the one-time burst is spent first and never comes back", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 50, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    CHECK(bucket.try_consume(120)); // 50 from the burst, 70 from the bucket
    CHECK(bucket.burst_left() == 0);
    CHECK(bucket.tokens() == 30);
    clock.advance(10s);
    CHECK(bucket.tokens() == 100);
    CHECK(bucket.try_consume(100));
    CHECK_FALSE(bucket.try_consume(1));
}

TEST_CASE("bucket: waiting counts the burst that is left", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 50, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(10)); // from the burst: 40 burst + 100 tokens left
    CHECK(bucket.time_until_available(140) == 0ms);
    REQUIRE(bucket.try_consume(130)); // 40 burst + 90 tokens: 10 tokens left
    CHECK(bucket.time_until_available(60) == 500ms);
}

TEST_CASE("bucket: an oversize request passes once the bucket is full and leaves debt",
          "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(10));
    CHECK_FALSE(bucket.try_consume(250));
    CHECK(bucket.time_until_available(250) == 100ms); // until full
    clock.advance(100ms);
    CHECK(bucket.try_consume(250));
    CHECK(bucket.tokens() == -150);
    // The debt is paid at the rate before anything else passes: 151 tokens = 1.51 s.
    CHECK(bucket.time_until_available(1) == 1510ms);
    clock.advance(1500ms);
    CHECK_FALSE(bucket.try_consume(1));
    clock.advance(10ms);
    CHECK(bucket.try_consume(1));
}

TEST_CASE("bucket: a request of nothing always passes", "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(1, 1, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(1));
    CHECK(bucket.time_until_available(0) == 0ns);
    CHECK(bucket.try_consume(0));
}

TEST_CASE("bucket: large rates and long idle times do not overflow", "[limiter][bucket]")
{
    ManualClock clock;
    const std::uint64_t rate = std::uint64_t{10} << 30; // 10 GiB/s
    TokenBucket bucket(rate, rate, 0, clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(bucket.try_consume(rate));
    clock.advance(std::chrono::hours(24 * 365 * 100));
    CHECK(bucket.tokens() == static_cast<std::int64_t>(rate));
    REQUIRE(bucket.try_consume(rate));
    CHECK(bucket.time_until_available(rate) == 1s);
}

// ---- Snapshot (issue "Snapshot and restore").

#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace {

std::vector<std::uint8_t> save_bucket(TokenBucket& bucket)
{
    minivmm::snapshot::StateWriter out;
    bucket.save_state(out);
    return out.take();
}

void restore_bucket(TokenBucket& bucket, const std::vector<std::uint8_t>& payload)
{
    minivmm::snapshot::StateReader in(payload, "limiter 0");
    bucket.restore_state(in);
}

} // namespace

TEST_CASE("bucket snapshot: tokens, the sub-token remainder and the burst left carry over, relative to the save",
    "[limiter][bucket]")
{
    ManualClock clock(std::chrono::hours(5));
    TokenBucket bucket(3, 10, 100, clock);
    clock.advance(1s);
    REQUIRE(bucket.try_consume(50)); // 50 from the burst
    clock.advance(500ms);            // 1.5 tokens owed since: 1 whole, remainder 0.5
    const auto payload = save_bucket(bucket);

    // A new process: its clock has nothing to do with the old one, and a long time passed.
    ManualClock other(std::chrono::minutes(1));
    TokenBucket restored(3, 10, 100, other);
    restore_bucket(restored, payload);
    CHECK(restored.tokens() == 4);  // 3 after one second + 1: no refill for the gap
    CHECK(restored.burst_left() == 50);
    other.advance(166666667ns);      // the other half token completes the fifth
    CHECK(restored.tokens() == 5);
}

TEST_CASE("bucket snapshot: a debt carries over; values beyond the bucket's own limits are clamped or refused",
    "[limiter][bucket]")
{
    ManualClock clock;
    TokenBucket bucket(100, 100, 0, clock);
    clock.advance(1s);
    REQUIRE(bucket.try_consume(250)); // oversize: 150 in debt
    const auto debt = save_bucket(bucket);
    TokenBucket restored(100, 100, 0, clock);
    restore_bucket(restored, debt);
    CHECK(restored.tokens() == -150);
    CHECK(restored.time_until_available(1) == 1510ms);

    // A bucket restored with a smaller limit than it was saved with keeps its own limits.
    TokenBucket big(1000, 1000, 500, clock);
    clock.advance(1s);
    const auto full = save_bucket(big);
    TokenBucket small(10, 10, 5, clock);
    restore_bucket(small, full);
    CHECK(small.tokens() == 10);
    CHECK(small.burst_left() == 5);

    // Remainder of a whole token or more, a truncated payload: refused, nothing changed.
    auto bad = full;
    bad[8 + 3] = 0x40; // remainder ~1e9+
    CHECK_THROWS_WITH(restore_bucket(small, bad), Catch::Contains("remainder"));
    CHECK_THROWS_AS(restore_bucket(small, std::vector<std::uint8_t>(full.begin(), full.end() - 1)),
        minivmm::snapshot::SnapshotError);
    CHECK(small.tokens() == 10);
}
