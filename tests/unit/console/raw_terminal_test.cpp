// Unit tests for RawTerminal on a pseudo-terminal (and a pipe, which it must leave alone).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>

#include "vmm/base/unique_fd.hpp"
#include "vmm/console/raw_terminal.hpp"

using minivmm::RawTerminal;
using minivmm::UniqueFd;

namespace {

struct Pty {
    UniqueFd master;
    UniqueFd slave;
    Pty()
    {
        master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        REQUIRE(master);
        REQUIRE(::grantpt(master.get()) == 0);
        REQUIRE(::unlockpt(master.get()) == 0);
        slave.reset(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
        REQUIRE(slave);
    }
    termios attributes() const
    {
        termios t{};
        REQUIRE(::tcgetattr(slave.get(), &t) == 0);
        return t;
    }
};

} // namespace

TEST_CASE("raw terminal: a tty goes raw (no echo, no line editing, no signals) and keeps output processing")
{
    Pty pty;
    const termios before = pty.attributes();
    REQUIRE((before.c_lflag & ICANON) != 0); // a fresh pty is cooked
    {
        RawTerminal raw(pty.slave.get());
        CHECK(raw.active());
        const termios during = pty.attributes();
        CHECK((during.c_lflag & (ICANON | ECHO | ISIG)) == 0);
        CHECK((during.c_iflag & ICRNL) == 0);
        CHECK(during.c_oflag == before.c_oflag);
    }
    const termios after = pty.attributes();
    CHECK(after.c_lflag == before.c_lflag);
    CHECK(after.c_iflag == before.c_iflag);
}

TEST_CASE("raw terminal: restore_saved restores at once and is idempotent (the signal/exit path)")
{
    Pty pty;
    const termios before = pty.attributes();
    RawTerminal raw(pty.slave.get());
    RawTerminal::restore_saved();
    CHECK(pty.attributes().c_lflag == before.c_lflag);
    RawTerminal::restore_saved();
    CHECK(pty.attributes().c_lflag == before.c_lflag);
}

TEST_CASE("raw terminal: a pipe is not a terminal and is left alone")
{
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    RawTerminal raw(read_end.get());
    CHECK_FALSE(raw.active());
}

TEST_CASE("raw terminal: a second RawTerminal while one is active does nothing")
{
    Pty first, second;
    const termios before = second.attributes();
    RawTerminal raw(first.slave.get());
    RawTerminal nested(second.slave.get());
    CHECK_FALSE(nested.active());
    CHECK(second.attributes().c_lflag == before.c_lflag);
}
