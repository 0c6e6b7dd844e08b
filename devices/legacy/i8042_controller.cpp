// I8042Controller: status register, command byte, controller commands and scan code translation
// (IBM PC/AT Technical Reference, "Keyboard Controller"; IBM PS/2 Hardware Interface Technical
// Reference, "Keyboard/Auxiliary Device Controller", for 0xA7-0xA9 and 0xD2-0xD4).
#include "devices/legacy/i8042_controller.hpp"

#include <optional>

#include <fmt/format.h>
#include <utility>

namespace minivmm {

namespace {

// Status register ("Status-Register Bit Definition"). Input buffer full (bit 1) stays clear: every
// command and data byte is taken at once. Auxiliary data (bit 5), timeout (bit 6) and parity error
// (bit 7) stay clear too: there is no auxiliary port and no serial link that could fail.
constexpr std::uint8_t kStatusOutputFull = 0x01;
constexpr std::uint8_t kStatusSystemFlag = 0x04;  // mirrors command byte bit 2
constexpr std::uint8_t kStatusCommandData = 0x08; // the last write went to port 0x64
constexpr std::uint8_t kStatusUnlocked = 0x10;    // keyboard inhibit switch off

// Command byte ("Command Byte"), read with 0x20 and written with 0x60.
constexpr std::uint8_t kKeyboardInterrupt = 0x01; // IRQ 1 when the output buffer fills
constexpr std::uint8_t kSystemFlag = 0x04;
constexpr std::uint8_t kKeyboardDisabled = 0x10;
constexpr std::uint8_t kAuxDisabled = 0x20;
constexpr std::uint8_t kTranslate = 0x40; // keyboard set 2 -> set 1
// What a BIOS leaves after POST: interrupt on, self-test passed, translation on (so the keyboard
// reads as set 1, which Linux's atkbd then uses: "AT Translated Set 2 keyboard").
constexpr std::uint8_t kInitialCommandByte = kKeyboardInterrupt | kSystemFlag | kTranslate;

// Output port ("Output-Port Definition"): bit 0 is the CPU reset line (0 = reset), bit 1 gate A20
// (always on in this machine, whatever the guest writes).
constexpr std::uint8_t kOutputPortNotReset = 0x01;
constexpr std::uint8_t kInitialOutputPort = kOutputPortNotReset | 0x02;

// Controller commands (port 0x64).
constexpr std::uint8_t kReadCommandByte = 0x20;
constexpr std::uint8_t kWriteCommandByte = 0x60; // the byte follows at port 0x60
constexpr std::uint8_t kDisableAux = 0xa7;
constexpr std::uint8_t kEnableAux = 0xa8;
constexpr std::uint8_t kAuxInterfaceTest = 0xa9;
constexpr std::uint8_t kSelfTest = 0xaa;
constexpr std::uint8_t kKeyboardInterfaceTest = 0xab;
constexpr std::uint8_t kDisableKeyboard = 0xad;
constexpr std::uint8_t kEnableKeyboard = 0xae;
constexpr std::uint8_t kReadOutputPort = 0xd0;
constexpr std::uint8_t kWriteOutputPort = 0xd1;     // the byte follows at port 0x60
constexpr std::uint8_t kWriteKeyboardBuffer = 0xd2; // the byte follows; it reads as keyboard data
constexpr std::uint8_t kWriteAuxBuffer = 0xd3;      // the byte follows; the "auxiliary loop"
constexpr std::uint8_t kWriteToAux = 0xd4;          // the byte follows, for the auxiliary device
constexpr std::uint8_t kPulseOutputPort = 0xf0;     // 0xF0-0xFF: pulse the output bits that are 0

constexpr std::uint8_t kSelfTestPassed = 0x55;
constexpr std::uint8_t kInterfaceOk = 0x00;
// Interface test code 0x01 is "clock line stuck low", what a port with nothing behind it reads.
// Linux's i8042_check_aux takes any answer but 0x00, 0xFA and 0xFF as "no AUX port".
constexpr std::uint8_t kInterfaceClockLow = 0x01;

constexpr std::uint8_t kBreakPrefix = 0xf0; // set 2: the next code is a key release

// Scan code translation, set 2 -> set 1, of codes 0x00-0x7F (command byte bit 6). Codes from 0x80
// up pass unchanged but 0x83 (F7) and 0x84 (Alt+SysRq). Linux's atkbd_unxlate_table is its inverse.
constexpr std::uint8_t kSet2ToSet1[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59, // 0x00
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b, // 0x10
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d, // 0x20
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f, // 0x30
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61, // 0x40
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76, // 0x50
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f, // 0x60
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54, // 0x70
};

std::uint8_t translate_to_set1(std::uint8_t code)
{
    if (code < 0x80)
        return kSet2ToSet1[code];
    return code == 0x83 ? 0x41 : code == 0x84 ? 0x54 : code;
}

} // namespace

I8042Controller::I8042Controller()
    : m_command_byte(kInitialCommandByte)
    , m_output_port(kInitialOutputPort)
{
}

std::uint8_t I8042Controller::read_status() const
{
    return kStatusUnlocked | (m_command_byte & kSystemFlag ? kStatusSystemFlag : 0) |
        (m_last_write_was_command ? kStatusCommandData : 0) | (m_output_full ? kStatusOutputFull : 0);
}

void I8042Controller::put_output(std::uint8_t byte)
{
    m_output = byte;
    m_output_full = true;
    // Command byte bit 0: "the controller generates an interrupt when it places data into its
    // output buffer": keyboard bytes and command results alike.
    if ((m_command_byte & kKeyboardInterrupt) && m_interrupt)
        m_interrupt->pulse();
}

// The keyboard sends while its interface is enabled and the output buffer is free; otherwise its
// bytes wait in its own buffer (the controller holds the keyboard's clock line low).
void I8042Controller::fill_from_keyboard()
{
    while (!m_output_full && !(m_command_byte & kKeyboardDisabled)) {
        std::optional<std::uint8_t> byte = m_keyboard.take();
        if (!byte)
            return;
        if (m_command_byte & kTranslate) {
            if (*byte == kBreakPrefix) {
                m_break_prefix_seen = true;
                continue;
            }
            *byte = std::uint8_t(translate_to_set1(*byte) | (m_break_prefix_seen ? 0x80 : 0));
            m_break_prefix_seen = false;
        }
        put_output(*byte);
    }
}

std::uint8_t I8042Controller::read_data()
{
    const std::uint8_t byte = m_output;
    m_output_full = false;
    fill_from_keyboard(); // one interrupt per byte: the next only once this one is read
    return byte;
}

I8042Controller::Effect I8042Controller::write_command(std::uint8_t command)
{
    m_last_write_was_command = true;
    m_awaiting_data_for = 0;
    switch (command) {
    case kReadCommandByte:
        put_output(m_command_byte);
        break;
    case kWriteCommandByte:
    case kWriteOutputPort:
    case kWriteKeyboardBuffer:
    case kWriteAuxBuffer:
    case kWriteToAux:
        m_awaiting_data_for = command;
        break;
    case kDisableAux:
        m_command_byte |= kAuxDisabled;
        break;
    case kEnableAux:
        m_command_byte &= std::uint8_t(~kAuxDisabled);
        break;
    case kAuxInterfaceTest:
        put_output(kInterfaceClockLow); // nothing is connected there
        break;
    case kSelfTest:
        put_output(kSelfTestPassed);
        break;
    case kKeyboardInterfaceTest:
        put_output(kInterfaceOk);
        break;
    case kDisableKeyboard:
        m_command_byte |= kKeyboardDisabled;
        break;
    case kEnableKeyboard:
        m_command_byte &= std::uint8_t(~kKeyboardDisabled);
        fill_from_keyboard();
        break;
    case kReadOutputPort:
        put_output(m_output_port);
        break;
    default:
        // "Pulse Output Port": bits 0-3 of the command select the lines pulsed low; line 0 is the
        // CPU reset (0xFE pulses it alone, 0xFF none). Other commands are ignored.
        if ((command & kPulseOutputPort) == kPulseOutputPort && !(command & kOutputPortNotReset))
            return Effect::ResetCpu;
        break;
    }
    return Effect::None;
}

I8042Controller::Effect I8042Controller::write_data(std::uint8_t byte)
{
    m_last_write_was_command = false;
    switch (std::exchange(m_awaiting_data_for, 0)) {
    case kWriteCommandByte:
        m_command_byte = byte;
        fill_from_keyboard(); // the keyboard interface may just have been enabled
        return Effect::None;
    case kWriteOutputPort:
        m_output_port = byte;
        return (byte & kOutputPortNotReset) ? Effect::None : Effect::ResetCpu;
    case kWriteKeyboardBuffer:
        put_output(byte);
        return Effect::None;
    case kWriteAuxBuffer:
        // There is no auxiliary port: the byte comes back as keyboard data (status bit 5 clear).
        // Ignoring the command would make a driver wait for the byte (Linux: 10000 polls of
        // 50 us); this way Linux's loop test fails at once ("auxerr") and it finds no AUX port.
        put_output(byte);
        return Effect::None;
    case kWriteToAux:
        return Effect::None; // no auxiliary device to receive it
    default:
        m_keyboard.receive(byte); // no command pending: the byte is for the keyboard
        fill_from_keyboard();
        return Effect::None;
    }
}

void I8042Controller::type(std::span<const std::uint8_t> scan_codes)
{
    if (m_keyboard.type(scan_codes))
        fill_from_keyboard();
}

} // namespace minivmm

namespace minivmm {

void I8042Controller::save_state(snapshot::StateWriter& out) const
{
    out.u8(m_command_byte);
    out.u8(m_output_port);
    out.u8(m_output);
    out.boolean(m_output_full);
    out.boolean(m_last_write_was_command);
    out.u8(m_awaiting_data_for);
    out.boolean(m_break_prefix_seen);
    m_keyboard.save_state(out);
}

void I8042Controller::restore_state(snapshot::StateReader& in)
{
    m_command_byte = in.u8();
    m_output_port = in.u8();
    m_output = in.u8();
    m_output_full = in.boolean();
    m_last_write_was_command = in.boolean();
    const std::uint8_t awaiting = in.u8();
    // Only the commands whose byte follows at port 0x60 leave the controller waiting for one.
    if (awaiting != 0 && awaiting != kWriteCommandByte && awaiting != kWriteOutputPort
        && awaiting != kWriteKeyboardBuffer && awaiting != kWriteAuxBuffer && awaiting != kWriteToAux)
        in.fail(fmt::format("controller waits for the data byte of {:#04x}, which takes none", awaiting));
    m_awaiting_data_for = awaiting;
    m_break_prefix_seen = in.boolean();
    m_keyboard.restore_state(in);
}

} // namespace minivmm
