// I8042: the PC keyboard controller with a keyboard and no auxiliary (mouse) port, answering every
// controller command a driver's probe waits on at once (IBM PC/AT Technical Reference, "Keyboard
// Controller": Status Register, Command Byte, Commands; the auxiliary-port commands from the IBM
// PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary Device Controller"). So a stock
// Linux binds its i8042 and atkbd drivers without i8042.* parameters and without one timeout, and
// the API's "shutdown" can type Ctrl-Alt-Del (Firecracker's SendCtrlAltDel) to it. Command 0xFE
// (or 0xD1 with bit 0 clear) resets the CPU, which Linux's reboot=k uses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "vmm/bus/bus_device.hpp"
#include "vmm/bus/interrupt_line.hpp"
#include "vmm/snapshot/snapshottable.hpp"

namespace minivmm {

class I8042 final : public snapshot::Snapshottable {
public:
    // The controller decodes two ports that are not contiguous: 0x61, between them, belongs to
    // the PIT/speaker that KVM emulates in the kernel. Each port is its own BusDevice.
    static constexpr std::uint64_t kDataPort = 0x60;
    static constexpr std::uint64_t kCommandPort = 0x64; // status on read, command on write
    static constexpr std::uint64_t kPortLength = 1;
    // The command that pulses the CPU reset line (output port bit 0).
    static constexpr std::uint8_t kCommandPulseReset = 0xfe;

    // `on_reset` runs on the vCPU thread that wrote the reset command, with no lock held.
    explicit I8042(std::function<void()> on_reset);

    // Register at kDataPort and kCommandPort (length kPortLength each). The ports stay valid
    // after the I8042 object is gone.
    [[nodiscard]] std::shared_ptr<BusDevice> data_port() const { return m_data; }
    [[nodiscard]] std::shared_ptr<BusDevice> command_port() const { return m_command; }

    // The keyboard's interrupt (ISA IRQ 1), pulsed for every byte the controller puts into its
    // output buffer while the command byte enables the interrupt. Optional: without it the bytes
    // are only seen by polling the status register.
    void set_keyboard_interrupt(InterruptLine* line);
    // Types Ctrl-Alt-Del: scan code set 2 make and break codes, which the guest reads as
    // 1d 38 e0 53 e0 d3 b8 9d while translation is on (the power-on default). Lost, as on a real
    // keyboard, while the guest has the keyboard disabled (command 0xF5) or its buffer has no room
    // for the whole sequence. Safe from any thread.
    void send_ctrl_alt_del();

    // Snapshot (issue "Snapshot and restore"): the controller and its keyboard, under the device
    // lock. A payload that fails validation changes nothing (SnapshotError).
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in) override;

    // Controller and keyboard state shared by both ports (i8042.cpp).
    struct State;

private:
    std::shared_ptr<State> m_state;
    std::shared_ptr<BusDevice> m_data;
    std::shared_ptr<BusDevice> m_command;
};

} // namespace minivmm
