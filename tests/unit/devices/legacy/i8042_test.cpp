// Unit tests for I8042 through its two ports: reset, idle status, Ctrl-Alt-Del, and Linux 6.1's
// whole probe (drivers/input/serio/i8042.c, keyboard/atkbd.c, serio/libps2.c) replayed byte for
// byte, checking that every byte the driver waits for is there at its first poll.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
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

// Status and command-byte bits as include/linux/i8042.h names them.
constexpr std::uint8_t kStrObf = 0x01, kStrIbf = 0x02, kStrCmdDat = 0x08, kStrKeylock = 0x10, kStrAuxData = 0x20;
constexpr std::uint8_t kCtrKbdInt = 0x01, kCtrAuxInt = 0x02, kCtrKbdDis = 0x10, kCtrAuxDis = 0x20, kCtrXlate = 0x40;
// i8042_command()'s encoding: bits 12-15 parameters sent, bits 8-11 results read.
constexpr int kCmdCtlRctr = 0x0120, kCmdCtlWctr = 0x1060, kCmdAuxTest = 0x01a9, kCmdAuxLoop = 0x11d3;

// Linux's i8042.c and libps2.c against the two ports, the way they poll and the way IRQ 1 drives
// them. Where the driver would poll (i8042_wait_read: up to 10000 x 50 us), the byte must be there
// at the first poll; REQUIREs say which wait would have timed out.
struct LinuxDriver {
    minivmm::testing::FakeInterruptLine irq;
    int resets = 0;
    I8042 controller {[this] { ++resets; }};

    LinuxDriver() { controller.set_keyboard_interrupt(&irq); }

    std::uint8_t status() { return read_byte(*controller.command_port()); }
    std::uint8_t data() { return read_byte(*controller.data_port()); }

    // i8042_flush(): read while OBF, at most I8042_BUFFER_SIZE (16) bytes.
    std::vector<std::uint8_t> flush()
    {
        std::vector<std::uint8_t> flushed;
        while (status() & kStrObf) {
            REQUIRE(flushed.size() < 16); // else "No controller found"
            flushed.push_back(data());
        }
        return flushed;
    }

    // __i8042_command(): returns 0 or -1 (AUX_LOOP's "auxerr"), like the driver.
    int command(int command, std::vector<std::uint8_t>& param)
    {
        REQUIRE((status() & kStrIbf) == 0); // i8042_wait_write
        write_byte(*controller.command_port(), std::uint8_t(command & 0xff));
        for (int i = 0; i < ((command >> 12) & 0xf); ++i) {
            REQUIRE((status() & kStrIbf) == 0);
            write_byte(*controller.data_port(), param.at(std::size_t(i)));
        }
        for (int i = 0; i < ((command >> 8) & 0xf); ++i) {
            INFO("i8042_wait_read for the result of command 0x" << std::hex << (command & 0xff));
            REQUIRE((status() & kStrObf) != 0); // at the first of the 10000 polls
            if (command == kCmdAuxLoop && !(status() & kStrAuxData))
                return -1;
            param.resize(std::max(param.size(), std::size_t(i + 1)));
            param[std::size_t(i)] = data();
        }
        return 0;
    }

    // One IRQ 1, i8042_interrupt(): the handler reads status, then the byte.
    std::uint8_t interrupt()
    {
        REQUIRE((status() & kStrObf) != 0);
        REQUIRE((status() & kStrAuxData) == 0); // from the keyboard port
        return data();
    }

    // __ps2_command() through i8042_kbd_write: each byte sent is ACKed, then `receive` bytes
    // follow, each raised as its own IRQ 1 before the driver's 200/500 ms waits would end.
    std::vector<std::uint8_t> ps2_command(std::initializer_list<std::uint8_t> bytes, int receive = 0)
    {
        for (const std::uint8_t byte : bytes) {
            const int pulses = irq.pulses();
            REQUIRE((status() & kStrIbf) == 0);
            write_byte(*controller.data_port(), byte);
            INFO("keyboard byte 0x" << std::hex << int(byte));
            REQUIRE(irq.pulses() == pulses + 1);
            REQUIRE(interrupt() == 0xfa);
        }
        std::vector<std::uint8_t> received;
        for (int i = 0; i < receive; ++i) {
            const int pulses = irq.pulses();
            received.push_back(interrupt());
            // The next byte's interrupt comes once this one is read.
            if (i + 1 < receive)
                REQUIRE(irq.pulses() == pulses + 1);
        }
        return received;
    }
};

} // namespace

TEST_CASE("i8042: command 0xFE on port 0x64 pulses reset and calls on_reset")
{
    int resets = 0;
    I8042 controller([&] { ++resets; });
    write_byte(*controller.command_port(), 0xfe);
    CHECK(resets == 1);
}

TEST_CASE("i8042: writing the output port with bit 0 clear (command 0xD1) resets; with it set does not")
{
    int resets = 0;
    I8042 controller([&] { ++resets; });
    write_byte(*controller.command_port(), 0xd1);
    write_byte(*controller.data_port(), 0xdf); // Linux's A20 write at i8042 init: bit 0 set
    CHECK(resets == 0);
    write_byte(*controller.command_port(), 0xd1);
    write_byte(*controller.data_port(), 0xde);
    CHECK(resets == 1);
}

TEST_CASE("i8042: other commands and data-port writes do not reset")
{
    int resets = 0;
    I8042 controller([&] { ++resets; });
    write_byte(*controller.command_port(), 0xaa); // self-test
    write_byte(*controller.command_port(), 0x20); // read command byte
    write_byte(*controller.command_port(), 0xff); // pulse no output line (Linux's null command)
    write_byte(*controller.data_port(), 0xfe);    // 0xFE to the keyboard is "resend", not reset
    CHECK(resets == 0);
}

TEST_CASE("i8042: status shows empty output and input buffers, data reads 0")
{
    I8042 controller([] {});
    const std::uint8_t status = read_byte(*controller.command_port());
    CHECK((status & kStrObf) == 0); // no data for the guest
    CHECK((status & kStrIbf) == 0); // a command may be written now
    CHECK((status & kStrKeylock) != 0);
    CHECK(status != 0xff); // not an unclaimed port
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
    CHECK((read_byte(*controller.command_port()) & kStrObf) == 0); // nothing typed yet
    controller.send_ctrl_alt_del();
    CHECK(irq.pulses() == 1);
    std::vector<std::uint8_t> typed;
    while (read_byte(*controller.command_port()) & kStrObf)
        typed.push_back(read_byte(*controller.data_port()));
    // Make codes Ctrl, Alt, Del (extended), then the break codes in reverse order.
    CHECK(typed == std::vector<std::uint8_t> {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d});
    CHECK(irq.pulses() == 8); // one interrupt per byte, as a keyboard raises IRQ 1 per scan code
    CHECK(read_byte(*controller.command_port()) == 0x14); // idle again
}

TEST_CASE("i8042: Linux 6.1's probe, atkbd's set-up, Ctrl-Alt-Del and reboot=k, with no wait timing out")
{
    LinuxDriver driver;
    std::vector<std::uint8_t> param;

    // i8042_platform_init (x86): A20 through the output port, then the null command for SMM.
    param = {0xdf};
    REQUIRE(driver.command(0x10d1, param) == 0);
    REQUIRE(driver.command(0x00ff, param) == 0);
    // i8042_controller_check: the flush finds nothing (more than 16 bytes: "No controller found").
    CHECK(driver.flush().empty());

    // i8042_controller_init: two equal CTR reads, keylock off, translation on (so not direct).
    std::vector<std::uint8_t> ctr0, ctr1;
    REQUIRE(driver.command(kCmdCtlRctr, ctr0) == 0);
    REQUIRE(driver.command(kCmdCtlRctr, ctr1) == 0);
    REQUIRE(ctr0 == ctr1);
    std::uint8_t ctr = ctr0.at(0);
    CHECK(ctr == 0x45);
    CHECK((driver.status() & kStrKeylock) != 0); // else "Warning: Keylock active"
    ctr = std::uint8_t((ctr | kCtrKbdDis) & ~kCtrKbdInt);
    param = {ctr};
    REQUIRE(driver.command(kCmdCtlWctr, param) == 0);
    CHECK(driver.flush().empty());
    const int pulses_before_aux = driver.irq.pulses();

    // i8042_check_aux: the loop test fails at once (the byte lacks STR_AUXDATA), and the
    // interface test then reports an error, so the driver gives up on AUX (and never reaches
    // the 250 ms IRQ test or the mux check).
    CHECK(driver.flush().empty());
    param = {0x5a};
    CHECK(driver.command(kCmdAuxLoop, param) == -1);
    REQUIRE(driver.command(kCmdAuxTest, param) == 0);
    CHECK(param.at(0) == 0x01); // replaced the loop byte the driver left unread
    CHECK(param.at(0) != 0x00);
    CHECK(param.at(0) != 0xfa);
    CHECK(param.at(0) != 0xff);
    // Command results raise no IRQ 1 while the driver keeps CTR_KBDINT clear.
    CHECK(driver.irq.pulses() == pulses_before_aux);

    // i8042_setup_kbd -> i8042_enable_kbd_port.
    ctr = std::uint8_t((ctr & ~kCtrKbdDis) | kCtrKbdInt);
    param = {ctr};
    REQUIRE(driver.command(kCmdCtlWctr, param) == 0);
    CHECK((ctr & (kCtrXlate | kCtrAuxInt)) == kCtrXlate);

    // atkbd_connect: atkbd_probe (GETID, then RESET_DIS), atkbd_select_set (translated: nothing
    // sent), atkbd_reset_state (SETLEDS 0, SETREP 0), atkbd_activate (ENABLE).
    const int pulses_before_keyboard = driver.irq.pulses();
    CHECK(driver.ps2_command({0xf2}, 2) == std::vector<std::uint8_t> {0xab, 0x41}); // translated 0xab83
    CHECK(driver.ps2_command({0xf5}).empty());
    CHECK(driver.ps2_command({0xed, 0x00}).empty());
    CHECK(driver.ps2_command({0xf3, 0x00}).empty());
    CHECK(driver.ps2_command({0xf4}).empty());
    // One IRQ per keyboard byte: 3 for GETID and 1 for each of the 6 other bytes.
    CHECK(driver.irq.pulses() == pulses_before_keyboard + 9);
    CHECK((driver.status() & kStrObf) == 0);

    // The API's shutdown: Ctrl-Alt-Del, one IRQ per byte, in set 1 through the translation.
    const int pulses_before_keys = driver.irq.pulses();
    I8042& device = driver.controller;
    device.send_ctrl_alt_del();
    std::vector<std::uint8_t> keys;
    while (driver.irq.pulses() > pulses_before_keys + int(keys.size()))
        keys.push_back(driver.interrupt());
    CHECK(keys == std::vector<std::uint8_t> {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d});
    CHECK((driver.status() & kStrObf) == 0);

    // kernel_restart -> device_shutdown: atkbd_cleanup (RESET_DEF), i8042_controller_reset
    // (flush, ports disabled, the BIOS CTR back), then reboot=k: 0xFE once IBF is clear.
    CHECK(driver.ps2_command({0xf6}).empty());
    CHECK(driver.flush().empty());
    param = {std::uint8_t((ctr | kCtrKbdDis | kCtrAuxDis) & ~(kCtrKbdInt | kCtrAuxInt))};
    REQUIRE(driver.command(kCmdCtlWctr, param) == 0);
    param = {ctr0.at(0)};
    REQUIRE(driver.command(kCmdCtlWctr, param) == 0);
    CHECK(driver.resets == 0);
    REQUIRE((driver.status() & kStrIbf) == 0); // kb_wait
    write_byte(*device.command_port(), 0xfe);
    CHECK(driver.resets == 1);
}

// ---- Snapshot (issue "Snapshot and restore").

namespace {

std::vector<std::uint8_t> save_i8042(const I8042& device)
{
    minivmm::snapshot::StateWriter out;
    device.save_state(out);
    return out.take();
}

void restore_i8042(I8042& device, const std::vector<std::uint8_t>& payload)
{
    minivmm::snapshot::StateReader in(payload, "device 1");
    device.restore_state(in);
}

} // namespace

TEST_CASE("i8042 snapshot: a byte waiting in the output buffer, more in the keyboard and a pending command restore")
{
    std::vector<std::uint8_t> payload;
    {
        LinuxDriver driver;
        // The guest asked for the keyboard ID: ACK read, AB and 83 still to come.
        write_byte(*driver.controller.data_port(), 0xf2);
        REQUIRE(driver.interrupt() == 0xfa);
        // ... and started writing the command byte (its data byte not sent yet).
        write_byte(*driver.controller.command_port(), 0x60);
        payload = save_i8042(driver.controller);
    }
    LinuxDriver restored;
    const int pulses = restored.irq.pulses();
    restore_i8042(restored.controller, payload);
    CHECK(restored.irq.pulses() == pulses); // IRQ 1 is an edge; a pending one is the irqchip's
    CHECK((restored.status() & kStrObf) != 0);
    CHECK((restored.status() & kStrCmdDat) != 0); // the last write went to port 0x64
    CHECK(restored.data() == 0xab);                // translated: AB 41
    CHECK(restored.data() == 0x41);
    CHECK((restored.status() & kStrObf) == 0);
    // The pending 0x60 takes the next data byte as the command byte.
    write_byte(*restored.controller.data_port(), kCtrKbdInt | kCtrXlate);
    std::vector<std::uint8_t> param;
    REQUIRE(restored.command(kCmdCtlRctr, param) == 0);
    CHECK(param.at(0) == (kCtrKbdInt | kCtrXlate));
}

TEST_CASE("i8042 snapshot: a corrupt or truncated payload is refused and changes nothing")
{
    LinuxDriver saved;
    saved.controller.send_ctrl_alt_del();
    const auto payload = save_i8042(saved.controller);

    LinuxDriver target;
    for (std::size_t size = 0; size < payload.size(); ++size) {
        INFO("cut at " << size);
        CHECK_THROWS_AS(restore_i8042(target.controller, std::vector<std::uint8_t>(payload.begin(),
                                                              payload.begin() + static_cast<std::ptrdiff_t>(size))),
            minivmm::snapshot::SnapshotError);
    }
    // Layout: tag 4, version 2, command byte, output port, output, full, last-was-command,
    // awaited data command, break prefix, then the keyboard: awaited parameter, scanning, last
    // sent, buffer.
    auto bad_command = payload;
    bad_command[11] = 0x20; // READ_CTR takes no data byte
    CHECK_THROWS_WITH(restore_i8042(target.controller, bad_command),
        "device 1: controller waits for the data byte of 0x20, which takes none");
    auto bad_keyboard = payload;
    bad_keyboard[13] = 0xf4;
    CHECK_THROWS_WITH(restore_i8042(target.controller, bad_keyboard), Catch::Contains("keyboard waits for the parameter of 0xf4"));
    auto long_buffer = payload;
    long_buffer[16] = 17; // the keyboard's buffer length
    CHECK_THROWS_WITH(restore_i8042(target.controller, long_buffer), Catch::Contains("at most 16"));

    CHECK((target.status() & kStrObf) == 0); // untouched
    std::vector<std::uint8_t> param;
    REQUIRE(target.command(kCmdCtlRctr, param) == 0);
    CHECK(param.at(0) == (kCtrKbdInt | 0x04 | kCtrXlate));
    // The saved one restores whole: Ctrl-Alt-Del's first byte is waiting.
    restore_i8042(target.controller, payload);
    CHECK(target.data() == 0x1d);
}
