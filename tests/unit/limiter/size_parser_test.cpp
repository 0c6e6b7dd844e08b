// Tests for parse_size and parse_duration: exact values and one-line UserErrors.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/duration_parser.hpp"
#include "vmm/limiter/size_parser.hpp"

using namespace minivmm;
using namespace minivmm::limiter;
using namespace std::chrono_literals;

TEST_CASE("parse_size: binary unit suffixes and plain bytes are exact", "[limiter][size]")
{
    CHECK(parse_size("0") == 0);
    CHECK(parse_size("4096") == 4096);
    CHECK(parse_size("512M") == 536870912);
    CHECK(parse_size("512m") == 536870912);
    CHECK(parse_size("2G") == 2147483648);
    CHECK(parse_size("1.5G") == 1610612736);
    CHECK(parse_size("64KiB") == 65536);
    CHECK(parse_size("64KB") == 65536);
    CHECK(parse_size("1T") == 1099511627776);
    CHECK(parse_size("10B") == 10);
    CHECK(parse_size("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("parse_size: a fraction with a unit is rounded down to whole bytes", "[limiter][size]")
{
    CHECK(parse_size("0.3K") == 307);   // 307.2
    CHECK(parse_size("1.001K") == 1025); // 1025.024
}

TEST_CASE("parse_size: garbage, negative, fractional bytes and overflow are UserErrors",
          "[limiter][size]")
{
    for (const char* bad : {"", "abc", "-1", "-1G", "1.5", "12X", "G", "1.G", ".5G", "1GG",
                            "1 G", "18446744073709551616", "16777216T", "1Gi"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_size(bad), UserError);
    }
    CHECK_THROWS_WITH(parse_size("-1G"), Catch::Contains("cannot be negative"));
}

TEST_CASE("parse_duration: a unit is required and values are exact", "[limiter][duration]")
{
    CHECK(parse_duration("100ms") == 100ms);
    CHECK(parse_duration("0.5s") == 500ms);
    CHECK(parse_duration("250us") == 250us);
    CHECK(parse_duration("7ns") == 7ns);
    CHECK_THROWS_WITH(parse_duration("100"), Catch::Contains("unit is missing"));
    for (const char* bad : {"", "-5ms", "ms", "5min", "1e3ms", "99999999999s"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_duration(bad), UserError);
    }
}
