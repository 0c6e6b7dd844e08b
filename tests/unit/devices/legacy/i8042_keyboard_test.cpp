// Unit tests for I8042Keyboard against the PC/AT Technical Reference's "Keyboard" commands: what
// each command answers, parameters, resend, reset, and scanning on and off.
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "devices/legacy/i8042_keyboard.hpp"

using minivmm::I8042Keyboard;

namespace {

std::vector<std::uint8_t> answer(I8042Keyboard& keyboard, std::initializer_list<std::uint8_t> bytes)
{
    for (const std::uint8_t byte : bytes)
        keyboard.receive(byte);
    std::vector<std::uint8_t> out;
    while (const auto byte = keyboard.take())
        out.push_back(*byte);
    return out;
}

using Bytes = std::vector<std::uint8_t>;

} // namespace

TEST_CASE("i8042 keyboard: commands answer ACK, read ID and echo as the PC/AT and PS/2 keyboards do")
{
    I8042Keyboard keyboard;
    CHECK(answer(keyboard, {0xf2}) == Bytes {0xfa, 0xab, 0x83});
    CHECK(answer(keyboard, {0xee}) == Bytes {0xee});
    CHECK(answer(keyboard, {0xf4}) == Bytes {0xfa});
    CHECK(answer(keyboard, {0xf5}) == Bytes {0xfa});
    CHECK(answer(keyboard, {0xf6}) == Bytes {0xfa});
    CHECK(answer(keyboard, {0xff}) == Bytes {0xfa, 0xaa}); // reset: ACK, then the BAT passed
    CHECK(answer(keyboard, {0xea}) == Bytes {0xfe});       // a command it lacks: "resend"
}

TEST_CASE("i8042 keyboard: LEDs, typematic rate and scan code set take a parameter, each ACKed")
{
    I8042Keyboard keyboard;
    CHECK(answer(keyboard, {0xed, 0x07}) == Bytes {0xfa, 0xfa});
    CHECK(answer(keyboard, {0xf3, 0x7f}) == Bytes {0xfa, 0xfa});
    CHECK(answer(keyboard, {0xf0, 0x00}) == Bytes {0xfa, 0xfa, 0x02}); // reads set 2
    CHECK(answer(keyboard, {0xf0, 0x02}) == Bytes {0xfa, 0xfa});
    CHECK(answer(keyboard, {0xf0, 0x03}) == Bytes {0xfa, 0xfe}); // set 3 is not there
    CHECK(answer(keyboard, {0xf0, 0x00}) == Bytes {0xfa, 0xfa, 0x02});
}

TEST_CASE("i8042 keyboard: a command instead of the awaited parameter is executed")
{
    I8042Keyboard keyboard;
    CHECK(answer(keyboard, {0xed, 0xf2}) == Bytes {0xfa, 0xfa, 0xab, 0x83});
    // And the parameter is no longer awaited: 0x00 is not a command.
    CHECK(answer(keyboard, {0x00}) == Bytes {0xfe});
}

TEST_CASE("i8042 keyboard: resend (0xFE) repeats the last byte sent")
{
    I8042Keyboard keyboard;
    CHECK(answer(keyboard, {0xf2}) == Bytes {0xfa, 0xab, 0x83});
    CHECK(answer(keyboard, {0xfe}) == Bytes {0x83});
}

TEST_CASE("i8042 keyboard: typed keys queue whole, not while disabled, and enable clears the buffer")
{
    I8042Keyboard keyboard;
    const Bytes a = {0x1c, 0xf0, 0x1c};
    CHECK(keyboard.type(a));
    CHECK(answer(keyboard, {}) == a);
    CHECK(answer(keyboard, {0xf5}) == Bytes {0xfa}); // disable: no scanning
    CHECK_FALSE(keyboard.type(a));
    CHECK(answer(keyboard, {}).empty());
    CHECK_FALSE(keyboard.type(a));
    CHECK(answer(keyboard, {0xf4}) == Bytes {0xfa});
    CHECK(keyboard.type(a));
    CHECK(answer(keyboard, {0xf4}) == Bytes {0xfa}); // the typed bytes were cleared
    // The 16-byte buffer takes a sequence only whole.
    for (int i = 0; i < 5; ++i)
        CHECK(keyboard.type(a));
    CHECK_FALSE(keyboard.type(a));
    CHECK(answer(keyboard, {}).size() == 15);
}
