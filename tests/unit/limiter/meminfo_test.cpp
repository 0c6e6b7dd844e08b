// Tests for parse_mem_available on /proc/meminfo text.
#include <catch2/catch.hpp>

#include "vmm/limiter/meminfo.hpp"

using namespace minivmm::limiter;

TEST_CASE("parse_mem_available: the MemAvailable line in kB becomes bytes", "[limiter][meminfo]")
{
    constexpr const char* kText = "MemTotal:        8053280 kB\n"
                                  "MemFree:          512000 kB\n"
                                  "MemAvailable:    6291456 kB\n"
                                  "Buffers:           10240 kB\n";
    CHECK(parse_mem_available(kText) == std::uint64_t{6291456} * 1024);
}

TEST_CASE("parse_mem_available: a missing or malformed line gives nothing", "[limiter][meminfo]")
{
    CHECK_FALSE(parse_mem_available("MemTotal: 100 kB\nMemFree: 50 kB\n"));
    CHECK_FALSE(parse_mem_available("MemAvailable: 12x4 kB\n"));
    CHECK_FALSE(parse_mem_available("MemAvailable: 1234 MB\n"));
    CHECK_FALSE(parse_mem_available("MemAvailable:  kB\n"));
    CHECK_FALSE(parse_mem_available(""));
}

TEST_CASE("parse_mem_available: the last line needs no newline", "[limiter][meminfo]")
{
    CHECK(parse_mem_available("MemFree: 1 kB\nMemAvailable: 2 kB") == 2048);
}

TEST_CASE("read_host_mem_available: this host reports a positive figure", "[limiter][meminfo]")
{
    CHECK(read_host_mem_available() > 0);
}
