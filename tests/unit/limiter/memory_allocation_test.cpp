// Tests for allocate_memory: DESIGN.md's f = min(1, R_available/R_requested, R_limit/R_requested)
// per slot, the proportional sharing rule, 2 MiB rounding and the strict/shrink verdicts.
#include <catch2/catch.hpp>

#include "vmm/limiter/memory_allocation.hpp"

using namespace minivmm::limiter;

namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::uint64_t GiB = std::uint64_t{1} << 30;

MemoryRequest one_slot(std::uint64_t size, std::uint64_t mem_available)
{
    MemoryRequest request;
    request.slots = {{0, size}};
    request.host_mem_available = mem_available;
    return request;
}

} // namespace

TEST_CASE("memory: a request that fits is granted exactly, f = 1", "[limiter][memory]")
{
    const auto result = allocate_memory(one_slot(1 * GiB, 8 * GiB));
    CHECK(result.verdict == MemoryVerdict::Granted);
    CHECK(result.available == 8 * GiB - 256 * MiB);
    REQUIRE(result.slots.size() == 1);
    CHECK(result.slots[0].allocated == 1 * GiB);
    CHECK(result.slots[0].factor == 1.0);
    CHECK(result.allocated == 1 * GiB);
}

TEST_CASE("memory: a full request keeps a size that is not a multiple of 2 MiB",
          "[limiter][memory]")
{
    const auto result = allocate_memory(one_slot(101 * MiB, 8 * GiB));
    CHECK(result.slots[0].allocated == 101 * MiB);
    CHECK(result.verdict == MemoryVerdict::Granted);
}

TEST_CASE("memory: R_available is MemAvailable less the reserve", "[limiter][memory]")
{
    auto request = one_slot(1 * GiB, 768 * MiB); // available = 768 - 256 = 512 MiB
    request.policy = MemoryPolicy::Shrink;
    const auto shrunk = allocate_memory(request);
    CHECK(shrunk.available == 512 * MiB);
    CHECK(shrunk.slots[0].available == 512 * MiB);
    CHECK(shrunk.slots[0].allocated == 512 * MiB);
    CHECK(shrunk.slots[0].factor == 0.5);
    CHECK(shrunk.verdict == MemoryVerdict::Shrunk);

    request.policy = MemoryPolicy::Strict;
    const auto refused = allocate_memory(request);
    CHECK(refused.verdict == MemoryVerdict::Refused);
    CHECK(refused.slots[0].allocated == 512 * MiB); // the figures are there to print
}

TEST_CASE("memory: a reduced slot is rounded down to 2 MiB", "[limiter][memory]")
{
    auto request = one_slot(1 * GiB, 8 * GiB);
    request.limit = 300 * MiB + 1;
    request.policy = MemoryPolicy::Shrink;
    CHECK(allocate_memory(request).slots[0].allocated == 300 * MiB);
    request.limit = 301 * MiB;
    CHECK(allocate_memory(request).slots[0].allocated == 300 * MiB);
}

TEST_CASE("memory: the smaller of limit and available wins", "[limiter][memory]")
{
    auto request = one_slot(2 * GiB, 768 * MiB);
    request.limit = 1 * GiB;
    request.policy = MemoryPolicy::Shrink;
    CHECK(allocate_memory(request).slots[0].allocated == 512 * MiB);
    request.host_mem_available = 8 * GiB;
    CHECK(allocate_memory(request).slots[0].allocated == 1 * GiB);
}

TEST_CASE("memory: limit and available are shared among slots in proportion to the request",
          "[limiter][memory]")
{
    // A 4 GiB guest: 3 GiB below the MMIO hole, 1 GiB above 4 GiB.
    MemoryRequest request;
    request.slots = {{0, 3 * GiB}, {0x1'0000'0000, 1 * GiB}};
    request.host_mem_available = 64 * GiB;
    request.limit = 2 * GiB;
    request.policy = MemoryPolicy::Shrink;
    const auto by_limit = allocate_memory(request);
    REQUIRE(by_limit.slots.size() == 2);
    CHECK(by_limit.slots[0].limit == 1536 * MiB);
    CHECK(by_limit.slots[1].limit == 512 * MiB);
    CHECK(by_limit.slots[0].allocated == 1536 * MiB);
    CHECK(by_limit.slots[1].allocated == 512 * MiB);
    CHECK(by_limit.slots[0].factor == 0.5);
    CHECK(by_limit.slots[1].factor == 0.5);
    CHECK(by_limit.allocated == 2 * GiB);
    CHECK(by_limit.slots[1].guest_address == 0x1'0000'0000);

    request.limit.reset();
    request.host_mem_available = 2 * GiB + 256 * MiB;
    const auto by_available = allocate_memory(request);
    CHECK(by_available.slots[0].available == 1536 * MiB);
    CHECK(by_available.slots[1].available == 512 * MiB);
    CHECK(by_available.slots[0].allocated == 1536 * MiB);
    CHECK(by_available.slots[1].allocated == 512 * MiB);
    CHECK_FALSE(by_available.slots[0].limit);
}

TEST_CASE("memory: shrink still refuses when less than 2 MiB would remain", "[limiter][memory]")
{
    auto request = one_slot(1 * GiB, 100 * MiB); // MemAvailable below the reserve
    request.policy = MemoryPolicy::Shrink;
    const auto result = allocate_memory(request);
    CHECK(result.available == 0);
    CHECK(result.allocated == 0);
    CHECK(result.verdict == MemoryVerdict::Refused);
}

TEST_CASE("memory: the summary prints every figure", "[limiter][memory]")
{
    auto request = one_slot(1 * GiB, 768 * MiB);
    request.limit = 2 * GiB;
    const auto text = allocate_memory(request).summary();
    CHECK_THAT(text, Catch::Contains("refused by --memory-policy strict"));
    CHECK_THAT(text, Catch::Contains("requested 1 GiB"));
    CHECK_THAT(text, Catch::Contains("available 512 MiB"));
    CHECK_THAT(text, Catch::Contains("MemAvailable 768 MiB"));
    CHECK_THAT(text, Catch::Contains("256 MiB reserve"));
    CHECK_THAT(text, Catch::Contains("limit 2 GiB"));
    CHECK_THAT(text, Catch::Contains("allocated 512 MiB"));
}
