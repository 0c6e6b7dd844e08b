// Tests for compute_migration_rate: h = min(1, M_available/M_size, M_limit/M_size).
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/migration_rate.hpp"

using namespace minivmm;
using namespace minivmm::limiter;
using namespace std::chrono_literals;

namespace {
constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
} // namespace

TEST_CASE("migration: the limit caps the rate, h = limit / size", "[limiter][migration]")
{
    const auto rate = compute_migration_rate({4 * GiB, std::nullopt, 100 * MiB});
    CHECK(rate.rate == 100 * MiB);
    CHECK(rate.factor == 0.0244140625); // 100 / 4096
    CHECK(rate.expected_duration == 40960ms);
}

TEST_CASE("migration: the smaller of available and limit wins", "[limiter][migration]")
{
    const auto rate = compute_migration_rate({4 * GiB, 50 * MiB, 100 * MiB});
    CHECK(rate.rate == 50 * MiB);
    CHECK(rate.expected_duration == 81920ms);
}

TEST_CASE("migration: unconstrained, h = 1 and the whole size goes in a second",
          "[limiter][migration]")
{
    const auto rate = compute_migration_rate({1 * GiB, std::nullopt, 8 * GiB});
    CHECK(rate.factor == 1.0);
    CHECK(rate.rate == 1 * GiB);
    CHECK(rate.expected_duration == 1s);
}

TEST_CASE("migration: nothing to send is done at once; a zero limit is refused",
          "[limiter][migration]")
{
    const auto none = compute_migration_rate({0, std::nullopt, 100 * MiB});
    CHECK(none.rate == 0);
    CHECK(none.expected_duration == 0ns);
    CHECK_THROWS_AS(compute_migration_rate({1 * GiB, std::nullopt, 0}), UserError);
    CHECK_THROWS_AS(compute_migration_rate({1 * GiB, 0, std::nullopt}), UserError);
}
