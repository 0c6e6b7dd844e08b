// I8042Controller: the 8042 keyboard controller's registers and commands as a state machine, with
// its keyboard (i8042_keyboard.hpp) and no auxiliary port (IBM PC/AT Technical Reference,
// "Keyboard Controller": Status Register, Command Byte, Output Port, Commands, and the set 2 to
// set 1 translation; auxiliary-port commands from the IBM PS/2 Hardware Interface Technical
// Reference, "Keyboard/Auxiliary Device Controller"). Every command's result is there at once.
#pragma once

#include <cstdint>
#include <span>

#include "devices/legacy/i8042_keyboard.hpp"
#include "vmm/bus/interrupt_line.hpp"
#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm {

// Not thread-safe: I8042 (i8042.hpp) serialises every call under its mutex.
class I8042Controller {
public:
    enum class Effect {
        None,
        ResetCpu, // the guest pulsed the CPU reset line (output port bit 0)
    };

    // The state a BIOS leaves after POST (command byte 0x45: interrupt, system flag, translation).
    I8042Controller();

    // Pulsed for every byte put into the output buffer while command byte bit 0 enables it.
    void set_keyboard_interrupt(InterruptLine* line) { m_interrupt = line; }

    // Port 0x64.
    [[nodiscard]] std::uint8_t read_status() const;
    [[nodiscard]] Effect write_command(std::uint8_t command);
    // Port 0x60.
    [[nodiscard]] std::uint8_t read_data();
    [[nodiscard]] Effect write_data(std::uint8_t byte);

    // The keyboard types these set 2 scan codes, whole or not at all (I8042Keyboard::type).
    void type(std::span<const std::uint8_t> scan_codes);

    // Snapshot: command byte, output port and buffer, the pending command, the translation's
    // break prefix and the keyboard. No interrupt is raised on restore: IRQ 1 is an edge, and
    // one the guest had not taken yet is part of the interrupt controller's saved state.
    // restore_state throws SnapshotError, possibly half-way: restore a copy and assign it.
    void save_state(snapshot::StateWriter& out) const;
    void restore_state(snapshot::StateReader& in);

private:
    void put_output(std::uint8_t byte);
    void fill_from_keyboard();

    InterruptLine* m_interrupt = nullptr;
    I8042Keyboard m_keyboard;
    std::uint8_t m_command_byte;
    std::uint8_t m_output_port;
    // The output buffer holds ONE byte. A command's result replaces whatever is there, as on the
    // 8042 (a driver flushes before a command); keyboard bytes wait in the keyboard until it is
    // free. A read empties it (status bit 0) but the register keeps its byte.
    std::uint8_t m_output = 0;
    bool m_output_full = false;
    bool m_last_write_was_command = false;
    std::uint8_t m_awaiting_data_for = 0; // the command whose byte comes next at port 0x60
    bool m_break_prefix_seen = false;     // translation: set 2's 0xF0 sets bit 7 of the next code
};

} // namespace minivmm
