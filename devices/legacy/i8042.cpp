// I8042: the controller's two I/O ports (0x60 data, 0x64 status/command) over one I8042Controller,
// serialised by one mutex: vCPU threads and the API thread (send_ctrl_alt_del) reach it at once.
#include "devices/legacy/i8042.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "devices/legacy/i8042_controller.hpp"
#include "vmm/snapshot/payload_header.hpp"

namespace minivmm {

struct I8042::State {
    explicit State(std::function<void()> reset) : on_reset(std::move(reset)) {}

    // Called with `mutex` released: the stop it triggers must not wait on a vCPU inside the device.
    void apply(I8042Controller::Effect effect) const
    {
        if (effect == I8042Controller::Effect::ResetCpu && on_reset)
            on_reset();
    }

    std::mutex mutex;
    I8042Controller controller;
    const std::function<void()> on_reset;
};

namespace {

class DataPort final : public BusDevice {
public:
    explicit DataPort(std::shared_ptr<I8042::State> state) : m_state(std::move(state)) {}
    [[nodiscard]] std::string_view name() const override { return "i8042-data"; }
    void read(std::uint64_t, std::span<std::uint8_t> data) override
    {
        std::ranges::fill(data, 0);
        if (data.empty())
            return;
        std::lock_guard lock(m_state->mutex);
        data[0] = m_state->controller.read_data();
    }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override
    {
        if (data.empty())
            return;
        I8042Controller::Effect effect;
        {
            std::lock_guard lock(m_state->mutex);
            effect = m_state->controller.write_data(data[0]);
        }
        m_state->apply(effect);
    }

private:
    std::shared_ptr<I8042::State> m_state;
};

class CommandPort final : public BusDevice {
public:
    explicit CommandPort(std::shared_ptr<I8042::State> state) : m_state(std::move(state)) {}
    [[nodiscard]] std::string_view name() const override { return "i8042-command"; }
    void read(std::uint64_t, std::span<std::uint8_t> data) override
    {
        std::lock_guard lock(m_state->mutex);
        std::ranges::fill(data, m_state->controller.read_status());
    }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override
    {
        if (data.empty())
            return;
        I8042Controller::Effect effect;
        {
            std::lock_guard lock(m_state->mutex);
            effect = m_state->controller.write_command(data[0]);
        }
        m_state->apply(effect);
    }

private:
    std::shared_ptr<I8042::State> m_state;
};

} // namespace

I8042::I8042(std::function<void()> on_reset)
    : m_state(std::make_shared<State>(std::move(on_reset)))
    , m_data(std::make_shared<DataPort>(m_state))
    , m_command(std::make_shared<CommandPort>(m_state))
{
}

void I8042::set_keyboard_interrupt(InterruptLine* line)
{
    std::lock_guard lock(m_state->mutex);
    m_state->controller.set_keyboard_interrupt(line);
}

namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("8042");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void I8042::save_state(snapshot::StateWriter& out) const
{
    std::lock_guard lock(m_state->mutex);
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    m_state->controller.save_state(out);
}

void I8042::restore_state(snapshot::StateReader& in)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "i8042");
    std::lock_guard lock(m_state->mutex);
    // Into a copy (which keeps the interrupt line): a payload that fails half-way changes nothing.
    I8042Controller restored = m_state->controller;
    restored.restore_state(in);
    in.expect_end();
    m_state->controller = restored;
}

void I8042::send_ctrl_alt_del()
{
    // Scan code set 2 (PC/AT Technical Reference, "Keyboard", scan code tables): make codes Ctrl
    // 14, Alt 11, Del e0 71; a break code is its make code after 0xF0, released in reverse order.
    static constexpr std::uint8_t kSequence[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
    std::lock_guard lock(m_state->mutex);
    m_state->controller.type(kSequence);
}

} // namespace minivmm
