// ExitPort: a one-register debug device through which a guest ends the VM with a status byte
// (the contract of QEMU's isa-debug-exit without its (v << 1) | 1 encoding; DESIGN.md, "Exit
// codes of `minivmm run`": the status is the byte written).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "vmm/bus/bus_device.hpp"
#include "vmm/snapshot/snapshottable.hpp"

namespace minivmm {

class ExitPort final : public BusDevice, public snapshot::Snapshottable {
public:
    // Register at kPort with kLength: 4 so that `outb`, `outw` and `outl` to 0xf4 all reach
    // the device (a length of 1 would make the Bus reject the wider forms).
    static constexpr std::uint64_t kPort = 0xf4;
    static constexpr std::uint64_t kLength = 4;

    // `on_exit` receives the low byte of a write at offset 0 (x86 is little-endian, so the low
    // byte of `outw`/`outl` too); it runs on the writing vCPU's thread.
    explicit ExitPort(std::function<void(std::uint8_t status)> on_exit);

    [[nodiscard]] std::string_view name() const override { return "exit-port"; }
    // Reads return 0.
    void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
    // Writes starting past offset 0 (e.g. `outb` to 0xf5) are ignored.
    void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

    // Snapshot: the port has no state; the payload is its tag and layout version only, so a
    // snapshot whose device list does not match is still caught here.
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in) override;

private:
    std::function<void(std::uint8_t)> m_on_exit;
};

} // namespace minivmm
