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

constexpr std::uint8_t kStatusOutputFull = 0x01; // a byte waits at the data port

class DataPort final : public BusDevice {
public:
    explicit DataPort(std::shared_ptr<I8042::OutputBuffer> output) : m_output(std::move(output)) {}
    [[nodiscard]] std::string_view name() const override { return "i8042-data"; }
    // The next byte of the output buffer; 0 when it is empty (no keyboard has typed anything).
    void read(std::uint64_t, std::span<std::uint8_t> data) override
    {
        std::ranges::fill(data, 0);
        if (data.empty())
            return;
        std::lock_guard lock(m_output->mutex);
        if (m_output->bytes.empty())
            return;
        data[0] = m_output->bytes.front();
        m_output->bytes.pop_front();
        // One interrupt per byte, as a real keyboard raises IRQ 1 for each scan code.
        if (!m_output->bytes.empty() && m_output->interrupt)
            m_output->interrupt->pulse();
    }
    // Keyboard commands (LEDs, scan-code set) go nowhere.
    void write(std::uint64_t, std::span<const std::uint8_t>) override {}

private:
    std::shared_ptr<I8042::OutputBuffer> m_output;
};

class CommandPort final : public BusDevice {
public:
    CommandPort(std::function<void()> on_reset, std::shared_ptr<I8042::OutputBuffer> output)
        : m_on_reset(std::move(on_reset))
        , m_output(std::move(output))
    {
    }
    [[nodiscard]] std::string_view name() const override { return "i8042-command"; }
    void read(std::uint64_t, std::span<std::uint8_t> data) override
    {
        std::lock_guard lock(m_output->mutex);
        std::ranges::fill(data, std::uint8_t(kIdleStatus | (m_output->bytes.empty() ? 0 : kStatusOutputFull)));
    }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override
    {
        // Every other controller command is accepted and ignored.
        if (!data.empty() && data[0] == I8042::kCommandPulseReset && m_on_reset)
            m_on_reset();
    }

private:
    std::function<void()> m_on_reset; // set once; callable from any vCPU thread
    std::shared_ptr<I8042::OutputBuffer> m_output;
};

} // namespace

I8042::I8042(std::function<void()> on_reset)
    : m_output(std::make_shared<OutputBuffer>())
    , m_data(std::make_shared<DataPort>(m_output))
    , m_command(std::make_shared<CommandPort>(std::move(on_reset), m_output))
{
}

void I8042::set_keyboard_interrupt(InterruptLine* line)
{
    std::lock_guard lock(m_output->mutex);
    m_output->interrupt = line;
}

void I8042::send_ctrl_alt_del()
{
    // Scan code set 1 (IBM PC/AT Technical Reference, "Keyboard", scan code tables): make codes
    // Ctrl 1d, Alt 38, Del e0 53; break codes are the make code | 0x80, in reverse order.
    static constexpr std::uint8_t kSequence[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    std::lock_guard lock(m_output->mutex);
    const bool was_empty = m_output->bytes.empty();
    m_output->bytes.insert(m_output->bytes.end(), std::begin(kSequence), std::end(kSequence));
    if (was_empty && m_output->interrupt)
        m_output->interrupt->pulse();
}

} // namespace minivmm
