// Tests for RateLimiter (bytes + ops buckets together) and parse_rate_limit.
#include <catch2/catch.hpp>

#include "tests/unit/limiter/manual_clock.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/rate_limiter.hpp"

using namespace minivmm;
using namespace minivmm::limiter;
using minivmm::testing::ManualClock;
using namespace std::chrono_literals;

namespace {

RateLimitConfig config(std::uint64_t bw, std::uint64_t iops)
{
    RateLimitConfig c;
    c.bytes = BucketConfig{bw, bw, 0};
    c.ops = BucketConfig{iops, iops, 0};
    return c;
}

} // namespace

TEST_CASE("rate limiter: a request passes only when both buckets allow it, taking from both",
          "[limiter][rate_limiter]")
{
    ManualClock clock;
    RateLimiter limiter(config(1000, 2), clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    CHECK(limiter.try_consume(400));
    CHECK(limiter.try_consume(400));
    // The ops bucket is empty: one op at 2/s is due in 500 ms.
    const auto refused = limiter.admit(100);
    CHECK_FALSE(refused.admitted);
    CHECK(refused.wait == 500ms);
    clock.advance(500ms);
    // The refusal took no bytes: 200 left + 500 refilled = 700.
    CHECK(limiter.try_consume(700));
    CHECK(limiter.bytes_admitted() == 1500);
    CHECK(limiter.ops_admitted() == 3);
}

TEST_CASE("rate limiter: the wait is the longer of the two buckets' waits",
          "[limiter][rate_limiter]")
{
    ManualClock clock;
    RateLimiter limiter(config(1000, 2), clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(limiter.try_consume(1000));
    CHECK(limiter.time_until_available(300) == 300ms); // bytes bind, ops have one left
    REQUIRE(limiter.admit(300).wait == 300ms);
    clock.advance(300ms);
    REQUIRE(limiter.try_consume(300));
    CHECK(limiter.time_until_available(1) == 200ms); // ops: 0.6 refilled, 0.4 due at 2/s
}

TEST_CASE("rate limiter: throttled time runs from a request's first refusal to its admission",
          "[limiter][rate_limiter]")
{
    ManualClock clock;
    RateLimiter limiter(config(1000, 1000), clock);
    clock.advance(1s); // buckets start empty: one idle second fills them
    REQUIRE(limiter.try_consume(1000));
    CHECK_FALSE(limiter.try_consume(200));
    clock.advance(100ms);
    CHECK_FALSE(limiter.try_consume(200)); // the same request retried early
    clock.advance(100ms);
    CHECK(limiter.try_consume(200));
    CHECK(limiter.throttled_time() == 200ms);
}

TEST_CASE("rate limiter: no buckets admits everything", "[limiter][rate_limiter]")
{
    ManualClock clock;
    RateLimiter limiter(RateLimitConfig{}, clock);
    CHECK(limiter.unlimited());
    for (int i = 0; i < 1000; ++i)
        REQUIRE(limiter.try_consume(std::uint64_t{1} << 40));
    CHECK(limiter.time_until_available(UINT64_MAX) == 0ns);
}

TEST_CASE("rate limit config: bw, iops and bursts, buckets of one second", "[limiter][rate_limiter]")
{
    const auto c = parse_rate_limit("bw=50M,iops=2000");
    REQUIRE(c.bytes);
    CHECK(*c.bytes == BucketConfig{52428800, 52428800, 0});
    CHECK(*c.ops == BucketConfig{2000, 2000, 0});
    const auto b = parse_rate_limit("iops-burst=5,bw=1M,burst=4M,iops=10");
    CHECK(*b.bytes == BucketConfig{1048576, 1048576, 4194304});
    CHECK(*b.ops == BucketConfig{10, 10, 5});
    const auto bw_only = parse_rate_limit("bw=1.5G");
    CHECK_FALSE(bw_only.ops);
}

TEST_CASE("rate limit config: malformed limits are one-line UserErrors", "[limiter][rate_limiter]")
{
    CHECK_THROWS_WITH(parse_rate_limit("foo=1"), Catch::Contains("unknown key \"foo\""));
    CHECK_THROWS_WITH(parse_rate_limit("bw=1M,bw=2M"), Catch::Contains("given twice"));
    CHECK_THROWS_WITH(parse_rate_limit("burst=1M"), Catch::Contains("neither bw nor iops"));
    CHECK_THROWS_WITH(parse_rate_limit("iops=5,burst=1M"), Catch::Contains("bw, which is not set"));
    CHECK_THROWS_WITH(parse_rate_limit("bw=0"), Catch::Contains("above 0"));
    for (const char* bad : {"", "bw", "bw=", "iops=1.5", "bw=1M,", "bw=-1M", "iops=x", ",bw=1M"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_rate_limit(bad), UserError);
    }
}

// ---- Snapshot (issue "Snapshot and restore").

#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

TEST_CASE("rate limiter snapshot: both buckets, the figures and a refusal in progress carry over", "[limiter][rate_limiter]")
{
    ManualClock clock(std::chrono::hours(1));
    RateLimiter limiter(config(1000, 10), clock);
    clock.advance(1s);
    REQUIRE(limiter.try_consume(600));
    REQUIRE_FALSE(limiter.try_consume(600)); // refused from now on
    clock.advance(100ms);
    minivmm::snapshot::StateWriter out;
    limiter.save_state(out);

    ManualClock other;
    RateLimiter restored(config(1000, 10), other);
    minivmm::snapshot::StateReader in(out.data(), "limiter 0");
    restored.restore_state(in);
    CHECK(restored.bytes_admitted() == 600);
    CHECK(restored.ops_admitted() == 1);
    // 400 + 100 bytes now; the 600-byte request needs 100 more: 100 ms.
    CHECK(restored.time_until_available(600) == 100ms);
    other.advance(100ms);
    REQUIRE(restored.try_consume(600));
    CHECK(restored.throttled_time() == 200ms); // 100 ms before the snapshot, 100 after
}

TEST_CASE("rate limiter snapshot: a bucket saved but not configured, or a corrupt payload, is refused", "[limiter][rate_limiter]")
{
    ManualClock clock;
    RateLimiter both(config(1000, 10), clock);
    minivmm::snapshot::StateWriter out;
    both.save_state(out);

    RateLimitConfig bytes_only;
    bytes_only.bytes = BucketConfig {1000, 1000, 0};
    RateLimiter other(bytes_only, clock);
    minivmm::snapshot::StateReader in(out.data(), "limiter 0");
    CHECK_THROWS_WITH(other.restore_state(in), "limiter 0: the ops bucket was limited at snapshot time but is unlimited now");

    RateLimiter target(config(1000, 10), clock);
    clock.advance(1s);
    for (std::size_t size = 0; size < out.data().size(); ++size) {
        minivmm::snapshot::StateReader cut(std::span(out.data()).first(size), "limiter 0");
        CHECK_THROWS_AS(target.restore_state(cut), minivmm::snapshot::SnapshotError);
    }
    CHECK(target.try_consume(1000)); // its own full bucket, untouched by the failures
}
