// Tests for vmm/sandbox/violation_message.hpp: the one line a seccomp violation prints.
#include <catch2/catch.hpp>

#include <climits>
#include <string>

#include "vmm/sandbox/violation_message.hpp"

using namespace minivmm::sandbox;

namespace {
std::string format(std::string_view kind, std::string_view name, long number, std::size_t size = 256)
{
    std::string buffer(size, '\0');
    const std::size_t length = format_violation(buffer.data(), buffer.size(), kind, name, number);
    REQUIRE(length <= size);
    buffer.resize(length);
    return buffer;
}
} // namespace

TEST_CASE("a violation is one line naming the thread kind, the system call and its number")
{
    CHECK(format("vcpu", "uname", 63) == "minivmm: seccomp: thread vcpu made a forbidden system call uname (63)\n");
    CHECK(format("event-loop", "openat", 257)
        == "minivmm: seccomp: thread event-loop made a forbidden system call openat (257)\n");
    CHECK(format("vcpu", "read", 0) == "minivmm: seccomp: thread vcpu made a forbidden system call read (0)\n");
}

TEST_CASE("a number without a name prints 'unknown'; numbers print in full, negative ones too")
{
    CHECK(format("vcpu", "", 9999) == "minivmm: seccomp: thread vcpu made a forbidden system call unknown (9999)\n");
    CHECK(format("vcpu", "", -1) == "minivmm: seccomp: thread vcpu made a forbidden system call unknown (-1)\n");
    CHECK(format("vcpu", "", LONG_MIN).find("(-9223372036854775808)") != std::string::npos);
    CHECK(format("vcpu", "", LONG_MAX).find("(9223372036854775807)") != std::string::npos);
}

TEST_CASE("a buffer too small truncates the line and never writes past its end")
{
    std::string buffer(40, '#');
    const std::size_t length = format_violation(buffer.data(), 20, "vcpu", "uname", 63);
    CHECK(length == 20);
    CHECK(buffer.substr(0, 20) == "minivmm: seccomp: th");
    CHECK(buffer.substr(20) == std::string(20, '#'));
    CHECK(format_violation(buffer.data(), 0, "vcpu", "uname", 63) == 0);
}
