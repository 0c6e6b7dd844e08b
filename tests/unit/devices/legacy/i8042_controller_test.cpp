// Unit tests for I8042Controller against the PC/AT Technical Reference's "Keyboard Controller"
// rules: the one-byte output buffer, the command byte's interrupt, disable and translation bits,
// the controller commands and the output port's reset line.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <vector>

#include "devices/legacy/i8042_controller.hpp"
#include "tests/support/fake_interrupt_line.hpp"

using minivmm::I8042Controller;
using Effect = I8042Controller::Effect;

namespace {

constexpr std::uint8_t kObf = 0x01;

struct Controller {
    minivmm::testing::FakeInterruptLine irq;
    I8042Controller controller;

    Controller() { controller.set_keyboard_interrupt(&irq); }

    void command(std::uint8_t byte) { REQUIRE(controller.write_command(byte) == Effect::None); }
    void data(std::uint8_t byte) { REQUIRE(controller.write_data(byte) == Effect::None); }
    void write_ctr(std::uint8_t ctr)
    {
        command(0x60);
        data(ctr);
    }
    // Everything readable now, as a polling driver drains it.
    std::vector<std::uint8_t> drain()
    {
        std::vector<std::uint8_t> bytes;
        while (controller.read_status() & kObf)
            bytes.push_back(controller.read_data());
        return bytes;
    }
};

} // namespace

TEST_CASE("i8042 controller: the command byte after POST is 0x45 and reads back what 0x60 wrote")
{
    Controller c;
    c.command(0x20);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x45});
    c.write_ctr(0x61);
    c.command(0x20);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x61});
    CHECK((c.controller.read_status() & 0x04) == 0); // the system flag follows command byte bit 2
}

TEST_CASE("i8042 controller: status bit 3 tells whether the last write was a command or data")
{
    Controller c;
    c.command(0xad);
    CHECK((c.controller.read_status() & 0x08) != 0);
    c.data(0xee); // echo, to the keyboard
    CHECK((c.controller.read_status() & 0x08) == 0);
}

TEST_CASE("i8042 controller: self-test, interface tests and the output port answer at once")
{
    Controller c;
    c.command(0xaa);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x55});
    c.command(0xab);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x00});
    c.command(0xa9);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x01}); // auxiliary clock line stuck low: no port
    c.command(0xd0);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x03}); // not in reset, A20 on
    c.command(0xd1);
    c.data(0xdf);
    c.command(0xd0);
    CHECK(c.drain() == std::vector<std::uint8_t> {0xdf});
}

TEST_CASE("i8042 controller: a command's result replaces the byte in the one-byte output buffer")
{
    Controller c;
    c.command(0xd3); // auxiliary loop: comes back without the auxiliary-data status bit
    c.data(0x5a);
    CHECK((c.controller.read_status() & (kObf | 0x20)) == kObf);
    c.command(0xaa);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x55});
}

TEST_CASE("i8042 controller: with command byte bit 0 every byte into the output buffer pulses IRQ 1")
{
    Controller c;
    c.command(0x20); // bit 0 is set after POST
    CHECK(c.irq.pulses() == 1);
    c.drain();
    c.write_ctr(0x44);
    c.command(0x20);
    c.controller.type(std::vector<std::uint8_t> {0x1c}); // waits behind the command's result
    CHECK(c.irq.pulses() == 1);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x44, 0x1e});
    CHECK(c.irq.pulses() == 1);
}

TEST_CASE("i8042 controller: keyboard bytes wait while the keyboard interface is disabled")
{
    Controller c;
    for (const bool by_command : {true, false}) {
        const int pulses = c.irq.pulses();
        if (by_command)
            c.command(0xad);
        else
            c.write_ctr(0x55); // command byte bit 4
        c.controller.type(std::vector<std::uint8_t> {0x1c, 0xf0, 0x1c}); // A pressed and released
        CHECK(c.drain().empty());
        CHECK(c.irq.pulses() == pulses);
        if (by_command)
            c.command(0xae);
        else
            c.write_ctr(0x45);
        CHECK(c.irq.pulses() == pulses + 1);
        CHECK(c.drain() == std::vector<std::uint8_t> {0x1e, 0x9e});
        CHECK(c.irq.pulses() == pulses + 2);
    }
}

TEST_CASE("i8042 controller: without translation (command byte bit 6 clear) set 2 passes unchanged")
{
    Controller c;
    c.write_ctr(0x05);
    c.controller.type(std::vector<std::uint8_t> {0x14, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x14});
    CHECK(c.drain() == std::vector<std::uint8_t> {0x14, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x14});
    c.data(0xf2); // read ID: the keyboard's own bytes
    CHECK(c.drain() == std::vector<std::uint8_t> {0xfa, 0xab, 0x83});
}

TEST_CASE("i8042 controller: translation maps set 2's 127 key codes one to one onto set 1")
{
    Controller c;
    std::set<std::uint8_t> seen;
    for (unsigned code = 0x01; code < 0x80; ++code) {
        c.controller.type(std::vector<std::uint8_t> {std::uint8_t(code), 0xf0, std::uint8_t(code)});
        const auto bytes = c.drain();
        REQUIRE(bytes.size() == 2);
        CHECK(bytes[1] == (bytes[0] | 0x80)); // the break code is the make code with bit 7
        CHECK(bytes[0] < 0x80);
        seen.insert(bytes[0]);
    }
    CHECK(seen.size() == 127);
    // Spot checks against the PC/AT scan code tables: Esc, A, Left Ctrl, Left Alt, F7 (0x83).
    c.controller.type(std::vector<std::uint8_t> {0x76, 0x1c, 0x14, 0x11, 0x83});
    CHECK(c.drain() == std::vector<std::uint8_t> {0x01, 0x1e, 0x1d, 0x38, 0x41});
}

TEST_CASE("i8042 controller: pulse commands 0xF0-0xFF reset only when they pulse bit 0")
{
    I8042Controller controller;
    for (unsigned command = 0xf0; command <= 0xff; ++command)
        CHECK(controller.write_command(std::uint8_t(command)) ==
            ((command & 1) ? Effect::None : Effect::ResetCpu));
    CHECK(controller.write_command(0xd1) == Effect::None);
    CHECK(controller.write_data(0x02) == Effect::ResetCpu);
}

TEST_CASE("i8042 controller: a command cancels the data byte an earlier command waited for")
{
    Controller c;
    c.command(0x60);
    c.command(0xd1); // the next data byte goes to the output port, not the command byte
    CHECK(c.controller.write_data(0x03) == Effect::None);
    c.command(0x20);
    CHECK(c.drain() == std::vector<std::uint8_t> {0x45});
    c.command(0xd4); // for the auxiliary device, which is not there: swallowed
    c.data(0xf4);
    CHECK(c.drain().empty());
}
