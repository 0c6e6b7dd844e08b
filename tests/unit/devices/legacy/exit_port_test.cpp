// Unit tests for ExitPort: the status byte reaches the callback.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>

#include "devices/legacy/exit_port.hpp"

using minivmm::ExitPort;

TEST_CASE("exit port: a byte write at offset 0 reports that status")
{
    std::optional<std::uint8_t> status;
    ExitPort port([&](std::uint8_t value) { status = value; });
    const std::uint8_t value = 42;
    port.write(0, std::span(&value, 1));
    REQUIRE(status.has_value());
    CHECK(*status == 42);
}

TEST_CASE("exit port: an outl reports its low byte")
{
    std::optional<std::uint8_t> status;
    ExitPort port([&](std::uint8_t value) { status = value; });
    const std::uint8_t value[4] = {0x07, 0x01, 0x00, 0x00}; // little-endian 0x107
    port.write(0, value);
    REQUIRE(status.has_value());
    CHECK(*status == 0x07);
}

TEST_CASE("exit port: writes past offset 0 are ignored and reads return 0")
{
    int calls = 0;
    ExitPort port([&](std::uint8_t) { ++calls; });
    const std::uint8_t value = 1;
    port.write(1, std::span(&value, 1));
    CHECK(calls == 0);
    std::uint8_t data[4] = {0xff, 0xff, 0xff, 0xff};
    port.read(0, data);
    CHECK(data[0] == 0);
    CHECK(data[3] == 0);
}
