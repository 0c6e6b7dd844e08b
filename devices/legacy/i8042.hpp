// I8042: the smallest 8042 keyboard controller a PC guest needs: its reset line (command 0xFE,
// "pulse output port bit 0", which Linux's reboot=k uses) and an idle status so drivers that
// probe it give up instead of waiting (IBM PC/AT Technical Reference, "Keyboard Controller":
// Status Register and Commands). The one key sequence it can type is Ctrl-Alt-Del, the way
// Firecracker's SendCtrlAltDel asks a guest to shut down (the API's "shutdown" action).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "vmm/bus/bus_device.hpp"
#include "vmm/bus/interrupt_line.hpp"

namespace minivmm {

class I8042 {
public:
    // The controller decodes two ports that are not contiguous: 0x61, between them, belongs to
    // the PIT/speaker that KVM emulates in the kernel. Each port is its own BusDevice.
    static constexpr std::uint64_t kDataPort = 0x60;
    static constexpr std::uint64_t kCommandPort = 0x64; // status on read, command on write
    static constexpr std::uint64_t kPortLength = 1;
    // The command that pulses the CPU reset line (output port bit 0).
    static constexpr std::uint8_t kCommandPulseReset = 0xfe;

    // `on_reset` runs on the vCPU thread that wrote the reset command.
    explicit I8042(std::function<void()> on_reset);

    // Register at kDataPort and kCommandPort (length kPortLength each). The ports stay valid
    // after the I8042 object is gone.
    [[nodiscard]] std::shared_ptr<BusDevice> data_port() const { return m_data; }
    [[nodiscard]] std::shared_ptr<BusDevice> command_port() const { return m_command; }

    // The keyboard's interrupt (ISA IRQ 1), pulsed for every byte that becomes readable at the
    // data port. Optional: without it the bytes are only seen by polling the status register.
    void set_keyboard_interrupt(InterruptLine* line);
    // Types Ctrl-Alt-Del: the scan code set 1 make and break codes (what a PC/AT controller with
    // translation delivers): 1d 38 e0 53, e0 d3 b8 9d. Safe from any thread.
    void send_ctrl_alt_del();

    // The keyboard output buffer shared by both ports (status bit 0 = a byte is waiting).
    struct OutputBuffer {
        std::mutex mutex;
        std::deque<std::uint8_t> bytes;
        InterruptLine* interrupt = nullptr;
    };

private:
    std::shared_ptr<OutputBuffer> m_output;
    std::shared_ptr<BusDevice> m_data;
    std::shared_ptr<BusDevice> m_command;
};

} // namespace minivmm
