// Tests for vmm/sandbox/sandbox_config.hpp: --jail, --uid and --gid go together.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/sandbox/sandbox_config.hpp"

using minivmm::UserError;
using namespace minivmm::sandbox;

TEST_CASE("no jail option means no jail; all three give the jail")
{
    CHECK_FALSE(parse_jail_options("", "", ""));
    const auto jail = parse_jail_options("/srv/jail", "65534", "65533");
    REQUIRE(jail);
    CHECK(jail->directory == "/srv/jail");
    CHECK(jail->uid == 65534);
    CHECK(jail->gid == 65533);
    CHECK(parse_jail_options("/j", "0", "4294967294")->gid == 4294967294u);
}

TEST_CASE("only some of --jail, --uid, --gid is one error naming all three")
{
    const auto message = Catch::Matchers::Message("--jail, --uid and --gid go together: give all three (--jail DIR --uid U --gid G)");
    CHECK_THROWS_MATCHES(parse_jail_options("/j", "", ""), UserError, message);
    CHECK_THROWS_MATCHES(parse_jail_options("/j", "1", ""), UserError, message);
    CHECK_THROWS_MATCHES(parse_jail_options("", "1", "1"), UserError, message);
    CHECK_THROWS_MATCHES(parse_jail_options("", "", "1"), UserError, message);
}

TEST_CASE("ids are decimal numbers below 2^32-1 (which setuid reads as 'unchanged')")
{
    for (const auto* bad : {"-1", "4294967295", "99999999999", "nobody", "1x", " 1", "0x10", "+5"}) {
        INFO(bad);
        CHECK_THROWS_MATCHES(parse_jail_options("/j", bad, "1"), UserError,
            Catch::Matchers::Message(std::string("--uid ") + bad + ": expected a numeric id between 0 and 4294967294"));
        CHECK_THROWS_MATCHES(parse_jail_options("/j", "1", bad), UserError,
            Catch::Matchers::Message(std::string("--gid ") + bad + ": expected a numeric id between 0 and 4294967294"));
    }
}

TEST_CASE("the jail directory must be an absolute path")
{
    CHECK_THROWS_MATCHES(parse_jail_options("jail", "1", "1"), UserError,
        Catch::Matchers::Message("--jail jail: must be an absolute path"));
}
