// I8042Keyboard: the PS/2 keyboard behind the i8042's keyboard port, as a state machine: it answers
// the commands a driver sends it (IBM PC/AT Technical Reference, "Keyboard": "Commands from the
// System" and "Commands to the System"; scan code set selection 0xF0 from the IBM PS/2 Hardware
// Interface Technical Reference, "Keyboard") and types scan code set 2, which the controller
// translates to set 1 when the guest asks for translation (i8042.hpp).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>

#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm {

// Not thread-safe: the I8042 that owns it serialises every call under its own mutex.
class I8042Keyboard {
public:
    // A PC/AT keyboard buffers 16 bytes ("Keyboard", "Buffer"); what does not fit is dropped.
    static constexpr std::size_t kBufferSize = 16;

    // A byte the system wrote to the keyboard: a command, or the parameter a command waits for.
    void receive(std::uint8_t byte);
    // Queues the scan codes of one key sequence, whole or not at all (a half-typed Ctrl-Alt-Del
    // would leave keys held down). A disabled keyboard (command 0xF5) does not scan: it drops them.
    // Returns whether they were queued.
    [[nodiscard]] bool type(std::span<const std::uint8_t> scan_codes);

    // The next byte for the system, removed from the buffer; nothing when the buffer is empty.
    [[nodiscard]] std::optional<std::uint8_t> take();

    // Snapshot: the pending command, scanning, the last byte sent and the buffer. restore_state
    // throws SnapshotError on a value the keyboard cannot be in, possibly half-way: restore a
    // copy and assign it (I8042Controller::restore_state does).
    void save_state(snapshot::StateWriter& out) const;
    void restore_state(snapshot::StateReader& in);

private:
    void reply(std::uint8_t byte);
    void reset_to_defaults();
    void execute(std::uint8_t command);
    void take_parameter(std::uint8_t parameter);

    // The command whose parameter byte comes next (0 when none).
    std::uint8_t m_awaiting_parameter_for = 0;
    bool m_scanning = true;
    std::uint8_t m_last_sent = 0; // what 0xFE (resend) repeats
    std::deque<std::uint8_t> m_buffer;
};

} // namespace minivmm
