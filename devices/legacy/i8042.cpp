// I8042: data and command/status ports of the minimal keyboard controller (IBM PC/AT
// Technical Reference, "Keyboard Controller").
#include "devices/legacy/i8042.hpp"

#include <algorithm>
#include <utility>

namespace minivmm {

namespace {

// Status register bits (PC/AT Technical Reference, "Status Register").
constexpr std::uint8_t kStatusSystemFlag = 0x04; // set by a successful self-test at power-on
constexpr std::uint8_t kStatusUnlocked = 0x10;   // keyboard not inhibited
// Output buffer full (bit 0) and input buffer full (bit 1) stay clear: nothing ever arrives
// from a keyboard, and every command is accepted at once, so a driver polling either bit ends
// its wait immediately (Linux's i8042 probe times out on its first command and gives up).
constexpr std::uint8_t kIdleStatus = kStatusSystemFlag | kStatusUnlocked;

class DataPort final : public BusDevice {
public:
    [[nodiscard]] std::string_view name() const override { return "i8042-data"; }
    // No keyboard: the output buffer is empty, reads see 0.
    void read(std::uint64_t, std::span<std::uint8_t> data) override { std::ranges::fill(data, 0); }
    // Keyboard commands (LEDs, scan-code set) go nowhere.
    void write(std::uint64_t, std::span<const std::uint8_t>) override {}
};

class CommandPort final : public BusDevice {
public:
    explicit CommandPort(std::function<void()> on_reset) : m_on_reset(std::move(on_reset)) {}
    [[nodiscard]] std::string_view name() const override { return "i8042-command"; }
    void read(std::uint64_t, std::span<std::uint8_t> data) override { std::ranges::fill(data, kIdleStatus); }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override
    {
        // Every other controller command is accepted and ignored.
        if (!data.empty() && data[0] == I8042::kCommandPulseReset && m_on_reset)
            m_on_reset();
    }

private:
    std::function<void()> m_on_reset; // set once; callable from any vCPU thread
};

} // namespace

I8042::I8042(std::function<void()> on_reset)
    : m_data(std::make_shared<DataPort>())
    , m_command(std::make_shared<CommandPort>(std::move(on_reset)))
{
}

} // namespace minivmm
