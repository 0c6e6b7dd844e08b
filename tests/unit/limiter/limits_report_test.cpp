// Tests for the --limits-report table, the JSON-lines record and the row builders.
#include <catch2/catch.hpp>

#include <cmath>

#include "vmm/limiter/limits_report.hpp"

using namespace minivmm::limiter;
using namespace std::chrono_literals;

TEST_CASE("report: JSON strings escape quotes, backslashes and control characters",
          "[limiter][report]")
{
    CHECK(json_string("plain") == R"("plain")");
    CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json_string("l1\nl2\t\r") == R"("l1\nl2\t\r")");
    CHECK(json_string(std::string_view("\x01\x1f", 2)) == R"("\u0001\u001f")");
    CHECK(json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\""); // UTF-8 passes through
}

TEST_CASE("report: the JSON record is one line with every figure", "[limiter][report]")
{
    std::vector<ResourceReport> rows;
    rows.push_back({"vcpu \"0\"", ReportUnit::HostCpus, 1.0, 0.25, 0.5, 0.125, 1500ms});
    rows.push_back({"memory slot 0", ReportUnit::Bytes, 1048576, 1048576, std::nullopt,
                    std::nan(""), 0ns});
    CHECK(format_limits_json(rows)
          == R"({"type":"limits","resources":[)"
             R"({"resource":"vcpu \"0\"","unit":"host_cpus","requested":1,"allocated":0.25,)"
             R"("limit":0.5,"used":0.125,"throttled_ns":1500000000},)"
             R"({"resource":"memory slot 0","unit":"bytes","requested":1048576,)"
             R"("allocated":1048576,"limit":null,"used":null,"throttled_ns":0}]})"
             "\n");
}

TEST_CASE("report: the table aligns a header and one line per resource", "[limiter][report]")
{
    std::vector<ResourceReport> rows;
    rows.push_back({"memory slot 0 @0x0", ReportUnit::Bytes, 1073741824, 536870912, 536870912,
                    104857600, 0ns});
    rows.push_back({"vcpu 0", ReportUnit::HostCpus, 1.0, 0.25, 0.5, 0.2, 7500ms});
    rows.push_back({"blk0", ReportUnit::BytesPerSecond, 52428800, 52428800, std::nullopt,
                    1048576, 20ms});
    rows.push_back({"blk0 ops", ReportUnit::OpsPerSecond, 2000, 2000, 2000, 12.5, 0ns});
    const std::string expected =
        "resource            requested  allocated      limit       used  throttled\n"
        "memory slot 0 @0x0      1 GiB    512 MiB    512 MiB    100 MiB        0 s\n"
        "vcpu 0                  1 CPU   0.25 CPU    0.5 CPU    0.2 CPU      7.5 s\n"
        "blk0                 50 MiB/s   50 MiB/s       none    1 MiB/s      20 ms\n"
        "blk0 ops            2000 op/s  2000 op/s  2000 op/s  12.5 op/s        0 s\n";
    CHECK(format_limits_table(rows) == expected);
}

TEST_CASE("report: memory rows carry each slot's figures", "[limiter][report]")
{
    MemoryRequest request;
    request.slots = {{0, 3u << 30}, {0x100000000, 1u << 30}};
    request.host_mem_available = std::uint64_t{64} << 30;
    request.limit = std::uint64_t{2} << 30;
    request.policy = MemoryPolicy::Shrink;
    const std::uint64_t used[] = {std::uint64_t{1} << 30};
    const auto rows = memory_report_rows(allocate_memory(request), used);
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].resource == "memory slot 1 @0x100000000");
    CHECK(rows[0].requested == 3221225472.0);
    CHECK(rows[0].allocated == 1610612736.0);
    CHECK(rows[0].limit == 1610612736.0);
    CHECK(rows[0].used == 1073741824.0);
    CHECK(rows[1].used == 0.0);
}

TEST_CASE("report: vCPU rows show used CPU as CPU time over wall time", "[limiter][report]")
{
    CpuRequest request;
    request.vcpu_count = 2;
    request.limit = 0.5;
    request.priorities = {1, 3};
    request.host_cpus = 2;
    const Nanos cpu_used[] = {1s, 3s};
    const Nanos throttled[] = {7s, 5s};
    const auto rows = cpu_report_rows(allocate_cpu(request), cpu_used, throttled, 8s);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].used == 0.125);
    CHECK(rows[1].used == 0.375);
    CHECK(rows[1].allocated == Approx(0.375));
    CHECK(*rows[0].limit == Approx(0.125));
    CHECK(rows[0].throttled == 7s);
}
