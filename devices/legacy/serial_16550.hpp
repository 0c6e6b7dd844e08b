// Serial16550: a 16550A UART (COM1 at 0x3f8, IRQ 4) as a pure register state machine, per the
// National/TI PC16550D datasheet (SNLS378C) §8 "Registers" (§8.1-§8.10) and §8.11 "FIFO
// Interrupt Mode Operation"; section numbers are those of SNLS378C.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "vmm/bus/bus_device.hpp"
#include "vmm/bus/interrupt_line.hpp"
#include "vmm/snapshot/snapshottable.hpp"

namespace minivmm {

class Serial16550 final : public BusDevice, public snapshot::Snapshottable {
public:
    // Where a PC has its first UART; the VMM registers the device there with kLength ports.
    static constexpr std::uint64_t kCom1Port = 0x3f8;
    static constexpr std::uint64_t kLength = 8;
    static constexpr unsigned kCom1Irq = 4;
    // PC16550D §8.5 (FIFO Control Register): the receiver FIFO holds 16 characters.
    static constexpr std::size_t kFifoSize = 16;

    // Register offsets from the base port, PC16550D Table II (Register Summary).
    enum class Register : std::uint8_t {
        Data = 0,            // RBR (read) / THR (write); DLL when LCR.DLAB
        InterruptEnable = 1, // IER; DLM when LCR.DLAB
        InterruptId = 2,     // IIR (read) / FCR (write)
        LineControl = 3,     // LCR
        ModemControl = 4,    // MCR
        LineStatus = 5,      // LSR
        ModemStatus = 6,     // MSR
        Scratch = 7,         // SCR
    };

    // Bytes the guest transmitted, in order. Called from a vCPU thread without the device lock
    // held, so it may block (a slow stdout) without stalling host input.
    using OutputSink = std::function<void(std::span<const std::uint8_t>)>;

    Serial16550(InterruptLine& interrupt, OutputSink output);

    [[nodiscard]] std::string_view name() const override { return "serial-16550"; }
    // Multi-byte accesses act on consecutive registers, as an ISA bus splits a wide cycle.
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

    // Host input: queues as many of `bytes` as the receiver has room for (16 with the FIFO
    // enabled, 1 in 16450 mode) and returns that count; the caller keeps the rest. Host input
    // never overruns: backpressure instead of lost characters.
    std::size_t push_input(std::span<const std::uint8_t> bytes);
    // `callback` runs once, without the device lock, on the thread that made room (a vCPU
    // reading RBR, or resetting the FIFO), after push_input() last refused bytes. The host
    // then pushes the rest. Pass {} to detach.
    void set_rx_space_callback(std::function<void()> callback);

    // Snapshot (issue "Snapshot and restore"): every register, the receiver FIFO with its bytes
    // and the interrupt sources. The transmitter holds nothing to save: a byte written to THR
    // leaves at once. restore_state validates the whole payload before it changes anything,
    // then drives the interrupt line to the restored level; on a SnapshotError the device is
    // as it was. Safe from any thread (the device lock).
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in) override;

private:
    // One byte access each. `rx_space` / the return value say the guest made room in the
    // receiver; write_register appends transmitted bytes to `tx`.
    std::uint8_t read_register(std::uint8_t offset, bool& rx_space);
    bool write_register(std::uint8_t offset, std::uint8_t value, std::array<std::uint8_t, 8>& tx,
                        std::size_t& tx_count);

    [[nodiscard]] bool fifo_enabled() const;
    [[nodiscard]] std::size_t rx_capacity() const;
    [[nodiscard]] std::size_t rx_trigger_level() const;
    [[nodiscard]] std::uint8_t line_status() const;
    [[nodiscard]] std::uint8_t interrupt_id() const;
    // The modem inputs as MSR bits 4-7: asserted outside loopback, MCR's outputs inside.
    [[nodiscard]] std::uint8_t modem_inputs() const;
    void set_modem_inputs(std::uint8_t inputs);
    void receive(std::uint8_t byte);
    void clear_rx();
    // Drives the interrupt line to the level the registers call for, if it changed.
    void update_interrupt();
    // After the guest made room: true (once) when push_input() refused bytes since the last call.
    bool take_rx_space_due();

    InterruptLine& m_interrupt;
    OutputSink m_output;

    mutable std::mutex m_mutex;
    std::function<void()> m_rx_space_callback;
    bool m_host_waiting = false; // push_input() refused bytes since the last callback

    std::array<std::uint8_t, kFifoSize> m_rx{};
    std::size_t m_rx_head = 0;
    std::size_t m_rx_count = 0;
    std::uint8_t m_last_rx = 0; // what RBR reads back when the receiver is empty

    std::uint8_t m_ier = 0;
    std::uint8_t m_fcr = 0; // write-only on the chip; kept for FIFO enable and trigger level
    std::uint8_t m_lcr = 0;
    std::uint8_t m_mcr = 0;
    std::uint8_t m_msr = 0;
    std::uint8_t m_scr = 0;
    std::uint8_t m_dll = 0x0c; // 9600 baud from the 1.8432 MHz PC clock: the BIOS default
    std::uint8_t m_dlm = 0;
    bool m_overrun = false;
    bool m_thre_pending = false; // the THRE interrupt source, PC16550D §8.6 Table IV
    bool m_level = false;        // last level given to m_interrupt
};

} // namespace minivmm
