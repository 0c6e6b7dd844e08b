// I8042Keyboard: command answers and the scan code buffer of the PS/2 keyboard (IBM PC/AT Technical
// Reference, "Keyboard", "Commands from the System" / "Commands to the System").
#include "devices/legacy/i8042_keyboard.hpp"

#include <fmt/format.h>

namespace minivmm {

namespace {

// Commands from the system.
constexpr std::uint8_t kSetLeds = 0xed;          // "Set/Reset Mode Indicators", one parameter byte
constexpr std::uint8_t kEcho = 0xee;             // answered with 0xEE, not with an ACK
constexpr std::uint8_t kSelectScanCodeSet = 0xf0; // PS/2: parameter 0 reads the set, 1-3 select one
constexpr std::uint8_t kReadId = 0xf2;           // PS/2: ACK, then the two ID bytes
constexpr std::uint8_t kSetTypematic = 0xf3;     // "Set Typematic Rate/Delay", one parameter byte
constexpr std::uint8_t kEnable = 0xf4;           // clears the buffer, starts scanning
constexpr std::uint8_t kDefaultDisable = 0xf5;   // defaults, clears the buffer, stops scanning
constexpr std::uint8_t kSetDefault = 0xf6;       // defaults, clears the buffer, keeps scanning
constexpr std::uint8_t kResend = 0xfe;           // the keyboard sends its last byte again
constexpr std::uint8_t kReset = 0xff;            // ACK, then the basic assurance test's result

// Commands to the system.
constexpr std::uint8_t kAck = 0xfa;
constexpr std::uint8_t kResendRequest = 0xfe; // "invalid input": what a keyboard answers to a command it lacks
constexpr std::uint8_t kBatCompleted = 0xaa;
// The MF2 keyboard's ID (PS/2 Technical Reference, "Read ID"): Linux's atkbd takes 0xAB as a
// keyboard (ps2_is_keyboard_id); through the controller's translation it reads AB 41.
constexpr std::uint8_t kIdFirst = 0xab;
constexpr std::uint8_t kIdSecond = 0x83;
// The keyboard types set 2 only: a request for set 1 or 3 is refused, so a driver keeps set 2
// (Linux's atkbd_select_set falls back to it).
constexpr std::uint8_t kScanCodeSet = 2;

} // namespace

void I8042Keyboard::reply(std::uint8_t byte)
{
    if (m_buffer.size() < kBufferSize)
        m_buffer.push_back(byte);
}

void I8042Keyboard::reset_to_defaults()
{
    // Defaults (typematic rate, LEDs off) hold no state here; the buffer is cleared so the ACK
    // that follows is the next byte the system reads.
    m_buffer.clear();
    m_awaiting_parameter_for = 0;
}

void I8042Keyboard::receive(std::uint8_t byte)
{
    // Every parameter byte has bit 7 clear (LED bits, typematic rate/delay, scan code set), every
    // command has it set: a command instead of the awaited parameter aborts the first command
    // ("Set/Reset Mode Indicators": "the new command is processed").
    if (m_awaiting_parameter_for != 0 && (byte & 0x80) == 0)
        take_parameter(byte);
    else
        execute(byte);
}

void I8042Keyboard::execute(std::uint8_t command)
{
    m_awaiting_parameter_for = 0;
    switch (command) {
    case kSetLeds:
    case kSetTypematic:
    case kSelectScanCodeSet:
        reply(kAck);
        m_awaiting_parameter_for = command;
        return;
    case kEcho:
        reply(kEcho);
        return;
    case kReadId:
        reply(kAck);
        reply(kIdFirst);
        reply(kIdSecond);
        return;
    case kEnable:
        m_buffer.clear();
        m_scanning = true;
        reply(kAck);
        return;
    case kDefaultDisable:
    case kSetDefault:
        reset_to_defaults();
        m_scanning = command == kSetDefault;
        reply(kAck);
        return;
    case kResend:
        reply(m_last_sent);
        return;
    case kReset:
        // The basic assurance test passes at once: no 300-500 ms wait a driver would sit out.
        reset_to_defaults();
        m_scanning = true;
        reply(kAck);
        reply(kBatCompleted);
        return;
    default:
        reply(kResendRequest);
        return;
    }
}

void I8042Keyboard::take_parameter(std::uint8_t parameter)
{
    const std::uint8_t command = m_awaiting_parameter_for;
    m_awaiting_parameter_for = 0;
    if (command != kSelectScanCodeSet) {
        reply(kAck); // LEDs and typematic rate have no visible effect here
        return;
    }
    if (parameter == 0) {
        reply(kAck);
        reply(kScanCodeSet);
    } else {
        reply(parameter == kScanCodeSet ? kAck : kResendRequest);
    }
}

bool I8042Keyboard::type(std::span<const std::uint8_t> scan_codes)
{
    if (!m_scanning || kBufferSize - m_buffer.size() < scan_codes.size())
        return false;
    m_buffer.insert(m_buffer.end(), scan_codes.begin(), scan_codes.end());
    return true;
}

std::optional<std::uint8_t> I8042Keyboard::take()
{
    if (m_buffer.empty())
        return std::nullopt;
    m_last_sent = m_buffer.front();
    m_buffer.pop_front();
    return m_last_sent;
}

} // namespace minivmm

namespace minivmm {

void I8042Keyboard::save_state(snapshot::StateWriter& out) const
{
    out.u8(m_awaiting_parameter_for);
    out.boolean(m_scanning);
    out.u8(m_last_sent);
    out.bytes(std::vector<std::uint8_t>(m_buffer.begin(), m_buffer.end()));
}

void I8042Keyboard::restore_state(snapshot::StateReader& in)
{
    const std::uint8_t awaiting = in.u8();
    // Only the commands that take a parameter byte leave the keyboard waiting for one.
    if (awaiting != 0 && awaiting != kSetLeds && awaiting != kSetTypematic && awaiting != kSelectScanCodeSet)
        in.fail(fmt::format("keyboard waits for the parameter of {:#04x}, which takes none", awaiting));
    m_awaiting_parameter_for = awaiting;
    m_scanning = in.boolean();
    m_last_sent = in.u8();
    const std::vector<std::uint8_t> buffer = in.bytes(kBufferSize);
    m_buffer.assign(buffer.begin(), buffer.end());
}

} // namespace minivmm
