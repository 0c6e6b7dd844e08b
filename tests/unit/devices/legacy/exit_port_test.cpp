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

TEST_CASE("exit port snapshot: an empty payload with its tag, refused for another device's state")
{
    minivmm::ExitPort port([](std::uint8_t) {});
    minivmm::snapshot::StateWriter out;
    port.save_state(out);
    CHECK(out.data() == std::vector<std::uint8_t> {'E', 'X', 'I', 'T', 1, 0});
    minivmm::snapshot::StateReader in(out.data(), "device 2");
    port.restore_state(in);
    const std::vector<std::uint8_t> uart {'U', '5', '5', '0', 1, 0};
    minivmm::snapshot::StateReader wrong(uart, "device 2");
    CHECK_THROWS_WITH(port.restore_state(wrong), "device 2: holds 'U550' state, not the exit port state ('EXIT') this device restores");
    const std::vector<std::uint8_t> longer {'E', 'X', 'I', 'T', 1, 0, 0};
    minivmm::snapshot::StateReader extra(longer, "device 2");
    CHECK_THROWS_AS(port.restore_state(extra), minivmm::snapshot::SnapshotError);
}
