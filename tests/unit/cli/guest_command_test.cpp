// Command mode's encoding: RFC 4648 base64 and POSIX sh quoting.
#include <catch2/catch.hpp>

#include "vmm/cli/guest_command.hpp"

using namespace minivmm::cli;

TEST_CASE("RFC 4648 §10: the test vectors encode exactly", "[cli][command]")
{
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode(std::string("\xff\x00\x80", 3)) == "/wCA");
}

TEST_CASE("command mode: several words are single-quoted so each stays one argument", "[cli][command]")
{
    CHECK(shell_command({"echo", "a b", "it's"}) == "'echo' 'a b' 'it'\\''s'");
    CHECK(shell_command({"sh", "-c", "exit 3"}) == "'sh' '-c' 'exit 3'");
}

TEST_CASE("command mode: one word is a shell command line as it is", "[cli][command]")
{
    CHECK(shell_command({"echo hi | wc -c"}) == "echo hi | wc -c");
    CHECK(guest_command_parameter({"exit 7"}) == "minivmm.cmd=ZXhpdCA3");
}
