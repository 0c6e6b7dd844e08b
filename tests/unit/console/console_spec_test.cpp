// Unit tests for ConsoleSpec::parse (the --serial value).
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/console/console_spec.hpp"

using minivmm::ConsoleSpec;
using minivmm::UserError;

TEST_CASE("--serial accepts stdio, none and file:PATH")
{
    CHECK(ConsoleSpec::parse("stdio") == ConsoleSpec{ConsoleSpec::Kind::Stdio, {}});
    CHECK(ConsoleSpec::parse("none") == ConsoleSpec{ConsoleSpec::Kind::None, {}});
    CHECK(ConsoleSpec::parse("file:/tmp/out.log") == ConsoleSpec{ConsoleSpec::Kind::File, "/tmp/out.log"});
    CHECK(ConsoleSpec::parse("file:a:b") == ConsoleSpec{ConsoleSpec::Kind::File, "a:b"}); // only the first colon splits
}

TEST_CASE("--serial rejects other values with a message naming the accepted forms")
{
    for (const char* bad : {"", "STDIO", "tty", "file", "stdio ", "pty:/dev/pts/1"}) {
        INFO(bad);
        CHECK_THROWS_AS(ConsoleSpec::parse(bad), UserError);
    }
    CHECK_THROWS_WITH(ConsoleSpec::parse("tty"), Catch::Contains("stdio, file:PATH or none"));
}

TEST_CASE("--serial file: without a path is rejected")
{
    CHECK_THROWS_WITH(ConsoleSpec::parse("file:"), Catch::Contains("needs a path"));
}
