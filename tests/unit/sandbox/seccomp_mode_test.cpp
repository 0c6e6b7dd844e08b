// Tests for vmm/sandbox/seccomp_mode.hpp: the values of --seccomp.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/sandbox/sandbox_config.hpp"
#include "vmm/sandbox/seccomp_mode.hpp"

using minivmm::UserError;
using namespace minivmm::sandbox;

TEST_CASE("--seccomp accepts enforce, log and off and round-trips their names")
{
    for (const auto* text : {"enforce", "log", "off"})
        CHECK(seccomp_mode_name(parse_seccomp_mode(text)) == text);
    CHECK(parse_seccomp_mode("enforce") == SeccompMode::Enforce);
    CHECK(parse_seccomp_mode("log") == SeccompMode::Log);
    CHECK(parse_seccomp_mode("off") == SeccompMode::Off);
}

TEST_CASE("--seccomp refuses anything else with one message naming the accepted values")
{
    for (const auto* text : {"", "Enforce", "on", "kill", "enforce ", "trap"}) {
        INFO(text);
        CHECK_THROWS_MATCHES(parse_seccomp_mode(text), UserError,
            Catch::Matchers::Message(std::string("--seccomp ") + text + ": expected enforce, log or off"));
    }
}

TEST_CASE("enforce is the default of a VM's sandbox")
{
    CHECK(SandboxConfig {}.seccomp == SeccompMode::Enforce);
    CHECK_FALSE(SandboxConfig {}.jail);
}
