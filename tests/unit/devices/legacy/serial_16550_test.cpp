// Unit tests for Serial16550 against the PC16550D (SNLS378C) register rules, without KVM.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "devices/legacy/serial_16550.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/recording_interrupt_line.hpp"

using minivmm::Serial16550;
using minivmm::testing::FakeInterruptLine;
using minivmm::testing::RecordingInterruptLine;

namespace {

// Register offsets and bits as a guest driver spells them.
constexpr std::uint8_t kData = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                       kScr = 7;
constexpr std::uint8_t kIerRx = 0x01, kIerThre = 0x02, kIerLine = 0x04, kIerModem = 0x08;
constexpr std::uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr std::uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;

template<typename Line>
struct Uart {
    Line line;
    std::vector<std::uint8_t> sent;
    Serial16550 serial{line, [this](std::span<const std::uint8_t> bytes) {
                           sent.insert(sent.end(), bytes.begin(), bytes.end());
                       }};

    std::uint8_t in(std::uint8_t reg)
    {
        std::uint8_t value = 0;
        serial.read(reg, std::span(&value, 1));
        return value;
    }
    void out(std::uint8_t reg, std::uint8_t value) { serial.write(reg, std::span(&value, 1)); }
    std::size_t push(std::vector<std::uint8_t> bytes) { return serial.push_input(bytes); }
};

using Fixture = Uart<FakeInterruptLine>;

} // namespace

TEST_CASE("16550 §8.1: LCR.DLAB switches offsets 0 and 1 to the divisor latch")
{
    Fixture uart;
    uart.out(kIer, kIerRx);
    uart.out(kLcr, 0x83); // DLAB + 8N1
    uart.out(kData, 0x01);
    uart.out(kIer, 0x02);
    CHECK(uart.in(kData) == 0x01);
    CHECK(uart.in(kIer) == 0x02);
    CHECK(uart.sent.empty()); // a divisor write is not a transmission
    uart.out(kLcr, 0x03);
    CHECK(uart.in(kIer) == kIerRx); // IER kept its value behind the latch
    uart.out(kData, 'A');
    CHECK(uart.sent == std::vector<std::uint8_t>{'A'});
    uart.out(kLcr, 0x83);
    CHECK(uart.in(kData) == 0x01); // the latch kept its value behind THR
    CHECK(uart.in(kIer) == 0x02);
}

TEST_CASE("16550 Table III: after reset LSR is 0x60, IIR is 0x01 and MSR reports CTS, DSR and DCD")
{
    Fixture uart;
    CHECK(uart.in(kLsr) == (kLsrThre | kLsrTemt));
    CHECK(uart.in(kIir) == 0x01);
    CHECK(uart.in(kMsr) == 0xb0); // no delta bits at power-on
    CHECK_FALSE(uart.line.level());
}

TEST_CASE("16550 §8.4: a THR write reaches the sink at once and THRE and TEMT stay set")
{
    Fixture uart;
    uart.out(kData, 'h');
    uart.out(kData, 'i');
    CHECK(uart.sent == std::vector<std::uint8_t>{'h', 'i'});
    CHECK((uart.in(kLsr) & (kLsrThre | kLsrTemt)) == (kLsrThre | kLsrTemt));
}

TEST_CASE("16550 §8.4: DR is set while the receiver holds data and cleared once it is read")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    CHECK(uart.push({'a', 'b'}) == 2);
    CHECK((uart.in(kLsr) & kLsrDr) != 0);
    CHECK(uart.in(kData) == 'a');
    CHECK((uart.in(kLsr) & kLsrDr) != 0);
    CHECK(uart.in(kData) == 'b');
    CHECK((uart.in(kLsr) & kLsrDr) == 0);
}

TEST_CASE("16550 §8.5: push_input returns how many bytes fit: 16 with the FIFO, 1 without")
{
    Fixture uart;
    SECTION("FIFO enabled")
    {
        uart.out(kFcr, 0x01);
        std::vector<std::uint8_t> bytes(20);
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<std::uint8_t>(i);
        CHECK(uart.push(bytes) == 16);
        CHECK(uart.push({0xff}) == 0);
        for (std::uint8_t i = 0; i < 16; ++i)
            CHECK(uart.in(kData) == i); // first in, first out
        CHECK((uart.in(kLsr) & kLsrOe) == 0); // refused host bytes are not an overrun
    }
    SECTION("16450 mode")
    {
        CHECK(uart.push({'x', 'y'}) == 1);
        CHECK(uart.in(kData) == 'x');
        CHECK(uart.push({'y'}) == 1);
    }
}

TEST_CASE("16550 §8.5: FCR RCVR reset and toggling the FIFO enable empty the receiver")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    uart.push({'a', 'b', 'c'});
    uart.out(kFcr, 0x03); // enable + RCVR FIFO reset
    CHECK((uart.in(kLsr) & kLsrDr) == 0);
    uart.push({'d'});
    uart.out(kFcr, 0x00); // FIFO disabled: FCR0 changed
    CHECK((uart.in(kLsr) & kLsrDr) == 0);
    CHECK((uart.in(kIir) & 0xc0) == 0);
}

TEST_CASE("16550 §8.4: a character arriving at a full FIFO is lost and sets OE until LSR is read")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    uart.out(kMcr, kMcrLoop);
    for (std::uint8_t i = 0; i < 17; ++i)
        uart.out(kData, i);
    CHECK(uart.sent.empty()); // loopback: nothing leaves the chip
    const std::uint8_t lsr = uart.in(kLsr);
    CHECK((lsr & kLsrOe) != 0);
    CHECK((lsr & kLsrDr) != 0);
    CHECK((uart.in(kLsr) & kLsrOe) == 0); // reading LSR reset OE
    for (std::uint8_t i = 0; i < 16; ++i)
        CHECK(uart.in(kData) == i); // the FIFO kept the first 16, the 17th was lost
}

TEST_CASE("16550 §8.4: in 16450 mode an overrun overwrites the unread character")
{
    Fixture uart;
    uart.out(kMcr, kMcrLoop);
    uart.out(kData, 'a');
    uart.out(kData, 'b');
    CHECK((uart.in(kLsr) & kLsrOe) != 0);
    CHECK(uart.in(kData) == 'b');
}

TEST_CASE("16550 §8.8: loopback sends TX to RX and MSR follows RTS, DTR, OUT1 and OUT2")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    uart.in(kMsr);
    // Linux's autoconfig probe: loopback with OUT2|RTS must read back DCD|CTS.
    uart.out(kMcr, kMcrLoop | kMcrOut2 | kMcrRts);
    CHECK((uart.in(kMsr) & 0xf0) == 0x90);
    uart.out(kMcr, kMcrLoop | kMcrDtr | kMcrOut1);
    CHECK((uart.in(kMsr) & 0xf0) == 0x60); // DSR | RI
    uart.out(kData, 'z');
    CHECK(uart.sent.empty());
    CHECK(uart.in(kData) == 'z');
    uart.out(kMcr, 0);
    CHECK((uart.in(kMsr) & 0xf0) == 0xb0); // outside loopback the host side is always ready
}

TEST_CASE("16550 §8.9: MSR delta bits record input changes and clear on read")
{
    Fixture uart;
    uart.out(kMcr, kMcrLoop | kMcrOut1); // CTS, DSR, DCD drop; RI rises
    CHECK(uart.in(kMsr) == (0x40 | 0x01 | 0x02 | 0x08));
    CHECK(uart.in(kMsr) == 0x40);
    uart.out(kMcr, kMcrLoop); // RI falls: trailing edge
    CHECK(uart.in(kMsr) == 0x04);
}

TEST_CASE("16550 §8.6: IIR reports line status > data > THRE > modem status, each cleared its own way")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    uart.out(kMcr, kMcrLoop);   // modem inputs change: delta bits pending
    for (int i = 0; i < 17; ++i) // FIFO full and an overrun
        uart.out(kData, 'x');
    uart.out(kIer, kIerRx | kIerThre | kIerLine | kIerModem);
    CHECK(uart.in(kIir) == 0xc6); // receiver line status
    uart.in(kLsr);
    CHECK(uart.in(kIir) == 0xc4); // 16 bytes >= trigger level 1: data available
    for (int i = 0; i < 16; ++i)
        uart.in(kData);
    CHECK(uart.in(kIir) == 0xc2); // THRE; reading IIR cleared it
    CHECK(uart.in(kIir) == 0xc0); // modem status
    uart.in(kMsr);
    CHECK(uart.in(kIir) == 0xc1); // nothing pending
}

TEST_CASE("16550 §8.11: data below the trigger level is reported as a character timeout")
{
    Fixture uart;
    uart.out(kFcr, 0x01 | 0x40); // trigger level 4
    uart.out(kIer, kIerRx);
    uart.push({'a', 'b', 'c'});
    CHECK(uart.in(kIir) == 0xcc);
    uart.push({'d'});
    CHECK(uart.in(kIir) == 0xc4);
    uart.in(kData);
    CHECK(uart.in(kIir) == 0xcc);
}

TEST_CASE("16550 §8.6: without FIFOs IIR bits 6-7 and 3 stay 0")
{
    Fixture uart;
    uart.out(kIer, kIerRx);
    uart.push({'a'});
    CHECK(uart.in(kIir) == 0x04);
}

TEST_CASE("16550 §8.6: the THRE interrupt is raised by enabling ETBEI or writing THR, cleared by reading IIR")
{
    Fixture uart;
    CHECK(uart.in(kIir) == 0x01);
    uart.out(kIer, kIerThre); // THR is empty: enabling ETBEI raises THRE
    CHECK(uart.in(kIir) == 0x02);
    CHECK(uart.in(kIir) == 0x01); // the IIR read cleared it
    uart.out(kIer, kIerThre);     // ETBEI already on: no new event
    CHECK(uart.in(kIir) == 0x01);
    uart.out(kData, 'a'); // THR written and emptied again at once
    CHECK(uart.in(kIir) == 0x02);
    uart.out(kIer, 0);
    uart.out(kIer, kIerThre); // Linux's UART_BUG_THRE probe: re-enabling re-raises
    CHECK(uart.in(kIir) == 0x02);
}

TEST_CASE("16550 §8.6: reading IIR does not clear THRE when a higher source is reported")
{
    Fixture uart;
    uart.out(kIer, kIerThre | kIerRx);
    uart.push({'a'});
    CHECK(uart.in(kIir) == 0x04);
    uart.in(kData);
    CHECK(uart.in(kIir) == 0x02);
}

TEST_CASE("16550 interrupt output: received data raises the line and reading RBR lowers it")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    uart.out(kMcr, kMcrOut2 | kMcrDtr | kMcrRts);
    uart.out(kIer, kIerRx);
    CHECK_FALSE(uart.line.level());
    uart.push({'a', 'b'});
    CHECK(uart.line.level());
    uart.in(kData);
    CHECK(uart.line.level());
    uart.in(kData);
    CHECK_FALSE(uart.line.level());
    CHECK(uart.line.rising_edges() == 1);
}

TEST_CASE("16550 interrupt output: OUT2 gates the line as on a PC, and loopback forces it off")
{
    Fixture uart;
    uart.out(kIer, kIerRx);
    uart.push({'a'});
    CHECK_FALSE(uart.line.level()); // OUT2 clear: the PC's IRQ buffer is disabled
    uart.out(kMcr, kMcrOut2);
    CHECK(uart.line.level());
    uart.out(kMcr, kMcrOut2 | kMcrLoop);
    CHECK_FALSE(uart.line.level());
    uart.out(kMcr, kMcrOut2);
    CHECK(uart.line.level());
}

TEST_CASE("16550 interrupt output: a THR write with the THRE interrupt cleared gives a new rising edge")
{
    Fixture uart;
    uart.out(kMcr, kMcrOut2);
    uart.out(kIer, kIerThre);
    CHECK(uart.line.rising_edges() == 1);
    uart.in(kIir); // the driver's handler identifies THRE: the line drops
    CHECK_FALSE(uart.line.level());
    uart.out(kData, 'a');
    CHECK(uart.line.level());
    CHECK(uart.line.rising_edges() == 2);
}

TEST_CASE("16550 interrupt output: set_level is called only when the computed level changes")
{
    Uart<RecordingInterruptLine> uart;
    uart.out(kMcr, kMcrOut2);
    uart.out(kIer, kIerRx);
    uart.push({'a'});
    uart.push({'b'}); // still asserted: no call
    uart.in(kLsr);
    uart.in(kData);
    uart.in(kData);
    uart.in(kData); // still deasserted: no call
    CHECK(uart.line.levels() == std::vector<bool>{true, false});
}

TEST_CASE("16550: the rx-space callback fires once, after a refused push, when the guest reads")
{
    Fixture uart;
    int calls = 0;
    uart.serial.set_rx_space_callback([&] { ++calls; });
    uart.out(kFcr, 0x01);
    uart.push({'a'});
    uart.in(kData);
    CHECK(calls == 0); // nothing was refused: the host has nothing waiting

    std::vector<std::uint8_t> many(20, 'x');
    CHECK(uart.serial.push_input(many) == 16);
    uart.in(kData);
    CHECK(calls == 1);
    uart.in(kData);
    CHECK(calls == 1); // once per refusal
}

TEST_CASE("16550: the rx-space callback runs without the device lock, so it may push input")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    std::size_t pushed = 0;
    uart.serial.set_rx_space_callback([&] {
        const std::uint8_t more[] = {'y', 'z'};
        pushed = uart.serial.push_input(more); // would deadlock if the lock were held
    });
    std::vector<std::uint8_t> many(17, 'x');
    CHECK(uart.serial.push_input(many) == 16);
    uart.in(kData);
    CHECK(pushed == 1);
}

TEST_CASE("16550 §8.5: an FCR receiver reset makes room and fires the rx-space callback")
{
    Fixture uart;
    int calls = 0;
    uart.serial.set_rx_space_callback([&] { ++calls; });
    uart.out(kFcr, 0x01);
    std::vector<std::uint8_t> many(17, 'x');
    uart.serial.push_input(many);
    uart.out(kFcr, 0x03);
    CHECK(calls == 1);
}

TEST_CASE("16550: SCR is read/write and reserved IER and MCR bits read 0")
{
    Fixture uart;
    uart.out(kScr, 0x5a);
    CHECK(uart.in(kScr) == 0x5a);
    uart.out(kIer, 0xff);
    CHECK(uart.in(kIer) == 0x0f);
    uart.out(kMcr, 0xe0 | kMcrDtr);
    CHECK(uart.in(kMcr) == kMcrDtr);
    uart.out(kLcr, 0x1b);
    CHECK(uart.in(kLcr) == 0x1b);
}

TEST_CASE("16550: a wide access covers consecutive registers")
{
    Fixture uart;
    const std::uint8_t values[] = {0x03, 0x0b}; // LCR, MCR in one 16-bit write
    uart.serial.write(kLcr, values);
    CHECK(uart.in(kLcr) == 0x03);
    CHECK(uart.in(kMcr) == 0x0b);
    std::uint8_t status[2] = {};
    uart.serial.read(kLsr, status);
    CHECK(status[0] == (kLsrThre | kLsrTemt));
    CHECK(status[1] == 0xb0);
}

TEST_CASE("16550: input pushed from a host thread with rx-space backpressure arrives complete and in order")
{
    Fixture uart;
    uart.out(kFcr, 0x01);
    std::vector<std::uint8_t> data(5000);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7);

    std::mutex mutex;
    std::condition_variable room;
    bool space = false;
    uart.serial.set_rx_space_callback([&] {
        std::lock_guard lock(mutex);
        space = true;
        room.notify_one();
    });
    // The host side, as the console does it: push, and on a short push wait for the callback.
    std::thread host([&] {
        std::span<const std::uint8_t> rest(data);
        while (!rest.empty()) {
            rest = rest.subspan(uart.serial.push_input(rest));
            if (rest.empty())
                break;
            std::unique_lock lock(mutex);
            room.wait(lock, [&] { return space; });
            space = false;
        }
    });
    // The guest side: a polling driver on this thread.
    std::vector<std::uint8_t> received;
    while (received.size() < data.size()) {
        if (uart.in(kLsr) & kLsrDr)
            received.push_back(uart.in(kData));
    }
    host.join();
    CHECK(received == data);
    CHECK((uart.in(kLsr) & kLsrOe) == 0);
}

// ---- Snapshot (issue "Snapshot and restore"): save_state / restore_state.

namespace {

std::vector<std::uint8_t> save_uart(const Serial16550& serial)
{
    minivmm::snapshot::StateWriter out;
    serial.save_state(out);
    return out.take();
}

void restore_uart(Serial16550& serial, const std::vector<std::uint8_t>& payload)
{
    minivmm::snapshot::StateReader in(payload, "device 0");
    serial.restore_state(in);
}

} // namespace

TEST_CASE("16550 snapshot: a UART with bytes in its FIFO and an interrupt pending restores into a new device")
{
    std::vector<std::uint8_t> payload;
    {
        Fixture uart;
        uart.out(kLcr, 0x80);
        uart.out(kData, 0x01); // 115200 baud
        uart.out(kLcr, 0x03);
        uart.out(kFcr, 0x81); // FIFO on, trigger level 8
        uart.out(kMcr, kMcrOut2 | kMcrDtr | kMcrRts);
        uart.out(kIer, kIerRx | kIerLine);
        uart.out(kScr, 0x5a);
        REQUIRE(uart.push({'a', 'b', 'c'}) == 3);
        REQUIRE(uart.in(kData) == 'a'); // the FIFO is mid-stream: the ring does not start at 0
        REQUIRE(uart.push({'d', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r'}) == 14); // full
        REQUIRE(uart.line.level());
        // The guest wrote a byte just before: the transmitter holds nothing to save, it is gone.
        uart.out(kData, 'Z');
        REQUIRE(uart.sent == std::vector<std::uint8_t> {'Z'});
        payload = save_uart(uart.serial);
    }
    Fixture restored;
    REQUIRE_FALSE(restored.line.level());
    restore_uart(restored.serial, payload);
    // The line follows the restored registers at once: data at the trigger level, OUT2 set.
    CHECK(restored.line.level());
    CHECK(restored.in(kIir) == 0xc4); // FIFOs enabled, received data available
    CHECK(restored.in(kLsr) == (kLsrDr | kLsrThre | kLsrTemt)); // host input never overruns
    CHECK(restored.in(kIer) == (kIerRx | kIerLine));
    CHECK(restored.in(kMcr) == (kMcrOut2 | kMcrDtr | kMcrRts));
    CHECK(restored.in(kScr) == 0x5a);
    CHECK(restored.in(kLcr) == 0x03);
    restored.out(kLcr, 0x83);
    CHECK(restored.in(kData) == 0x01);
    restored.out(kLcr, 0x03);
    std::vector<std::uint8_t> received;
    while (restored.in(kLsr) & kLsrDr)
        received.push_back(restored.in(kData));
    CHECK(received == std::vector<std::uint8_t> {'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q'});
    CHECK_FALSE(restored.line.level());
    CHECK(restored.push({'x'}) == 1); // the receiver works on
    CHECK(restored.in(kData) == 'x');
}

TEST_CASE("16550 snapshot: a pending THRE interrupt and modem deltas survive; a quiet UART restores a low line")
{
    std::vector<std::uint8_t> payload;
    {
        Fixture uart;
        uart.out(kMcr, kMcrOut2);
        uart.out(kIer, kIerThre);
        REQUIRE(uart.line.level());
        payload = save_uart(uart.serial);
    }
    Fixture restored;
    restore_uart(restored.serial, payload);
    CHECK(restored.line.level());
    CHECK(restored.in(kIir) == 0x02); // THRE, cleared by this read
    CHECK_FALSE(restored.line.level());

    Uart<RecordingInterruptLine> quiet;
    restore_uart(quiet.serial, save_uart(Fixture {}.serial));
    CHECK(quiet.line.levels().empty()); // never raised, nothing to lower
}

TEST_CASE("16550 snapshot: a corrupt or truncated payload is refused and changes nothing")
{
    Fixture saved;
    saved.out(kFcr, 0x01);
    saved.out(kMcr, kMcrOut2);
    saved.out(kIer, kIerRx);
    saved.push({1, 2, 3});
    const auto payload = save_uart(saved.serial);

    Fixture target;
    target.out(kScr, 0x77);
    for (std::size_t size = 0; size < payload.size(); ++size) {
        INFO("cut at " << size);
        CHECK_THROWS_AS(restore_uart(target.serial, std::vector<std::uint8_t>(payload.begin(),
                                                        payload.begin() + static_cast<std::ptrdiff_t>(size))),
            minivmm::snapshot::SnapshotError);
    }
    // Layout: tag 4, version 2, IER, FCR, LCR, MCR, MSR, SCR, DLL, DLM, last RX, overrun, THRE,
    // then the FIFO's length and bytes.
    auto bad_ier = payload;
    bad_ier[6] = 0xf1;
    CHECK_THROWS_WITH(restore_uart(target.serial, bad_ier), "device 0: IER 0xf1 has reserved bits set");
    auto bad_fcr = payload;
    bad_fcr[7] = 0x03;
    CHECK_THROWS_WITH(restore_uart(target.serial, bad_fcr), Catch::Contains("self-clearing"));
    auto fifo_off = payload;
    fifo_off[7] = 0x00; // 16450 mode holds one byte, three saved
    CHECK_THROWS_WITH(restore_uart(target.serial, fifo_off), "device 0: 3 bytes in a receiver that holds 1");
    auto bad_bool = payload;
    bad_bool[15] = 2;
    CHECK_THROWS_AS(restore_uart(target.serial, bad_bool), minivmm::snapshot::SnapshotError);
    auto serial_tag = payload;
    serial_tag[0] = 'X';
    CHECK_THROWS_WITH(restore_uart(target.serial, serial_tag), Catch::Contains("not the 16550 UART state"));

    CHECK(target.in(kScr) == 0x77); // untouched by every refused restore
    CHECK_FALSE(target.line.level());
    CHECK(target.push({9}) == 1);
    CHECK(target.in(kData) == 9);
}

TEST_CASE("16550 snapshot: an overrun in loopback and the divisor latch state survive")
{
    std::vector<std::uint8_t> payload;
    {
        Fixture uart;
        uart.out(kMcr, kMcrLoop);
        uart.out(kData, 'a'); // 16450 mode: one byte of receiver
        uart.out(kData, 'b'); // overruns it
        uart.out(kLcr, 0x80); // saved with DLAB set
        payload = save_uart(uart.serial);
    }
    Fixture restored;
    restore_uart(restored.serial, payload);
    CHECK(restored.in(kLcr) == 0x80);
    restored.out(kLcr, 0x00);
    CHECK(restored.in(kLsr) == (kLsrDr | kLsrOe | kLsrThre | kLsrTemt));
    CHECK(restored.in(kData) == 'b'); // 16450 mode: the new byte overwrote RBR
    // Loopback with no MCR outputs: inputs inactive, and the unread deltas of entering it kept.
    CHECK(restored.in(kMsr) == 0x0b);
}
