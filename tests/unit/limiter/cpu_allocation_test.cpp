// Tests for allocate_cpu: DESIGN.md's g = min(1, S_limit/sum(S_priority),
// S_available/sum(S_priority)) with S_priority,j = priority_j / max(priority), and the options.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/cpu_allocation.hpp"

using namespace minivmm;
using namespace minivmm::limiter;
using namespace std::chrono_literals;

namespace {

CpuRequest request_for(unsigned vcpus, std::optional<double> limit,
                       std::vector<std::uint32_t> priorities = {}, unsigned host_cpus = 4)
{
    CpuRequest request;
    request.vcpu_count = vcpus;
    request.limit = limit;
    request.priorities = std::move(priorities);
    request.host_cpus = host_cpus;
    return request;
}

} // namespace

TEST_CASE("cpu: 2 vCPUs under --cpu-limit 0.5 get 25% each", "[limiter][cpu]")
{
    const auto result = allocate_cpu(request_for(2, 0.5));
    CHECK(result.demand == 2.0);
    CHECK(result.factor == 0.25);
    REQUIRE(result.vcpus.size() == 2);
    CHECK(result.vcpus[0].share == 0.25);
    CHECK(result.vcpus[1].share == 0.25);
    CHECK(result.vcpus[0].throttled());
    CHECK(result.vcpus[0].budget(100ms) == 25ms);
    CHECK(result.throttled());
}

TEST_CASE("cpu: priorities 1,3 under --cpu-limit 0.5 give 12.5% and 37.5%", "[limiter][cpu]")
{
    const auto result = allocate_cpu(request_for(2, 0.5, {1, 3}));
    CHECK(result.vcpus[0].demand == Approx(1.0 / 3));
    CHECK(result.vcpus[1].demand == 1.0);
    CHECK(result.factor == Approx(0.375));
    CHECK(result.vcpus[0].share == Approx(0.125));
    CHECK(result.vcpus[1].share == Approx(0.375));
    CHECK(result.vcpus[0].budget(100ms) == 12500us);
}

TEST_CASE("cpu: without --cpu-limit every vCPU is unthrottled", "[limiter][cpu]")
{
    // Even with more vCPUs than host CPUs: the host scheduler shares S_available.
    const auto result = allocate_cpu(request_for(4, std::nullopt, {}, 2));
    CHECK(result.factor == 1.0);
    for (const auto& vcpu : result.vcpus) {
        CHECK(vcpu.share == 1.0);
        CHECK_FALSE(vcpu.throttled());
    }
    CHECK_FALSE(result.throttled());
}

TEST_CASE("cpu: a share never exceeds one host CPU and priorities keep their ratio",
          "[limiter][cpu]")
{
    // g = min(1, 1.5 / (4/3), 2 / (4/3)) = 1: the top vCPU gets a whole CPU, the other a third.
    const auto result = allocate_cpu(request_for(2, 1.5, {1, 3}, 2));
    CHECK(result.factor == 1.0);
    CHECK(result.vcpus[0].share == Approx(1.0 / 3));
    CHECK(result.vcpus[1].share == 1.0);
    CHECK(result.vcpus[0].throttled());
    CHECK_FALSE(result.vcpus[1].throttled());
}

TEST_CASE("cpu: a limit equal to the host's CPUs splits them evenly", "[limiter][cpu]")
{
    const auto result = allocate_cpu(request_for(4, 2.0, {}, 2));
    CHECK(result.factor == 0.5);
    CHECK(result.vcpus[3].share == 0.5);
}

TEST_CASE("cpu: invalid limits, priorities and periods are one-line UserErrors", "[limiter][cpu]")
{
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, 0.0)), Catch::Contains("positive"));
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, -1.0)), Catch::Contains("positive"));
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, 5.0, {}, 4)),
                      Catch::Contains("exceeds the 4 host CPU"));
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, 0.5, {1, 2, 3})),
                      Catch::Contains("3 priorities for 2 vCPUs"));
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, 0.5, {1, 0})),
                      Catch::Contains("vCPU 1 is 0"));
    CHECK_THROWS_WITH(allocate_cpu(request_for(2, std::nullopt, {1, 3})),
                      Catch::Contains("add --cpu-limit"));
    auto request = request_for(1, 0.5);
    request.period = 500us;
    CHECK_THROWS_WITH(allocate_cpu(request), Catch::Contains("--cpu-period"));
    CHECK_THROWS_AS(allocate_cpu(request_for(0, std::nullopt)), UserError);
}

TEST_CASE("cpu: option parsers accept the documented forms only", "[limiter][cpu]")
{
    CHECK(parse_cpu_limit("0.5") == 0.5);
    CHECK(parse_cpu_limit("2") == 2.0);
    for (const char* bad : {"", "0", "0.0", "-1", "abc", "1x", "nan"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_cpu_limit(bad), UserError);
    }
    CHECK(parse_vcpu_priorities("1,3") == std::vector<std::uint32_t>{1, 3});
    CHECK(parse_vcpu_priorities("7") == std::vector<std::uint32_t>{7});
    for (const char* bad : {"", "1,,3", "1,0", "1.5", "1,", "a", "1,-2", "2000000"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_vcpu_priorities(bad), UserError);
    }
    CHECK(parse_cpu_period("100ms") == 100ms);
    CHECK(parse_cpu_period("1s") == 1s);
    CHECK_THROWS_AS(parse_cpu_period("0.5ms"), UserError);
    CHECK_THROWS_AS(parse_cpu_period("2s"), UserError);
}

TEST_CASE("cpu: host_cpu_count sees at least one CPU", "[limiter][cpu]")
{
    CHECK(host_cpu_count() >= 1);
}
