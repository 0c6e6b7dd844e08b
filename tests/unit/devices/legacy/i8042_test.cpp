// Unit tests for the minimal i8042: reset command and idle status.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "devices/legacy/i8042.hpp"
#include "tests/support/fake_interrupt_line.hpp"

using minivmm::I8042;

namespace {

std::uint8_t read_byte(minivmm::BusDevice& device)
{
    std::uint8_t value = 0xaa;
    device.read(0, std::span(&value, 1));
    return value;
}

void write_byte(minivmm::BusDevice& device, std::uint8_t value)
{
    device.write(0, std::span(&value, 1));
}

} // namespace

TEST_CASE("i8042: command 0xFE on port 0x64 pulses reset and calls on_reset")
{
    int resets = 0;
    I8042 controller([&] { ++resets; });
    write_byte(*controller.command_port(), 0xfe);
    CHECK(resets == 1);
}

TEST_CASE("i8042: other commands and data-port writes do not reset")
{
    int resets = 0;
    I8042 controller([&] { ++resets; });
    write_byte(*controller.command_port(), 0xaa); // self-test
    write_byte(*controller.command_port(), 0x20); // read command byte
    write_byte(*controller.data_port(), 0xfe);    // 0xFE to the keyboard is "resend", not reset
    CHECK(resets == 0);
}

TEST_CASE("i8042: status shows empty output and input buffers, data reads 0")
{
    I8042 controller([] {});
    const std::uint8_t status = read_byte(*controller.command_port());
    CHECK((status & 0x01) == 0); // OBF: no data for the guest
    CHECK((status & 0x02) == 0); // IBF: a command may be written now
    CHECK(status != 0xff);       // not an unclaimed port
    CHECK(read_byte(*controller.data_port()) == 0);
}

TEST_CASE("i8042: the ports outlive the controller object")
{
    int resets = 0;
    std::shared_ptr<minivmm::BusDevice> command;
    {
        I8042 controller([&] { ++resets; });
        command = controller.command_port();
    }
    write_byte(*command, 0xfe);
    CHECK(resets == 1);
}

TEST_CASE("i8042: Ctrl-Alt-Del arrives as scan code set 1 bytes with output-full status and IRQ 1")
{
    minivmm::testing::FakeInterruptLine irq;
    I8042 controller([] {});
    controller.set_keyboard_interrupt(&irq);
    CHECK((read_byte(*controller.command_port()) & 0x01) == 0); // nothing typed yet
    controller.send_ctrl_alt_del();
    CHECK(irq.pulses() == 1);
    std::vector<std::uint8_t> typed;
    while (read_byte(*controller.command_port()) & 0x01)
        typed.push_back(read_byte(*controller.data_port()));
    // Make codes Ctrl, Alt, Del (extended), then the break codes in reverse order.
    CHECK(typed == std::vector<std::uint8_t> {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d});
    CHECK(irq.pulses() == 8); // one interrupt per byte, as a keyboard raises IRQ 1 per scan code
    CHECK(read_byte(*controller.data_port()) == 0);
    CHECK(read_byte(*controller.command_port()) == 0x14); // idle again
}
