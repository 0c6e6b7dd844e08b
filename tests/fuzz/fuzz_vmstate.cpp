// libFuzzer target: a snapshot's vmstate file (vmm/snapshot/vmstate_format.hpp) and every device's
// restore_state behind it. The input is a vmstate file. decode_vmstate checks it as it is; then,
// so that mutations get past the checksum, the same bytes with the checksum recomputed are
// decoded again and each Device and Limiter section payload is restored into every kind of
// fresh device of a small machine (vmstate_fuzz_machine.hpp); the MachineConfig section's
// payload, if any, is the first bytes of guest RAM (where the seeds put their rings).
//
// Invariants: decode either throws SnapshotError or returns sections within the file; a restore
// either throws SnapshotError or leaves a device whose own save restores into another fresh device
// and saves the same bytes again (nothing half-restored); and the restored device then takes
// register accesses, queue kicks and host input without a crash (ASan/UBSan watch that).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/vmstate_fuzz_machine.hpp"
#include "vmm/limiter/clock.hpp"
#include "vmm/snapshot/crc32c.hpp"
#include "vmm/snapshot/vmstate_format.hpp"

using namespace minivmm;
using namespace minivmm::fuzz;
using snapshot::SnapshotError;
using snapshot::StateReader;
using snapshot::StateWriter;

namespace {

class FixedClock final : public limiter::Clock {
public:
    [[nodiscard]] limiter::Nanos now() const override { return m_now; }
    void advance(limiter::Nanos by) { m_now += by; }

private:
    limiter::Nanos m_now {1'000'000'000};
};

// restore(payload) into a fresh device, save it, restore that into another fresh device and
// save again: both saves must agree. Returns the first device's save, or nothing on a
// SnapshotError.
template<typename Make, typename Save, typename Restore>
bool restores_consistently(std::span<const std::uint8_t> payload, Make make, Save save, Restore restore)
{
    std::vector<std::uint8_t> first;
    {
        auto device = make();
        try {
            StateReader in(payload, "fuzz");
            restore(*device, in);
        } catch (const SnapshotError& error) {
            // FUZZ_VMSTATE_VERBOSE=1: why each payload was refused (to check that seeds restore).
            if (std::getenv("FUZZ_VMSTATE_VERBOSE"))
                std::fprintf(stderr, "refused: %s\n", error.what());
            return false;
        }
        if (std::getenv("FUZZ_VMSTATE_VERBOSE"))
            std::fprintf(stderr, "restored\n");
        StateWriter out;
        save(*device, out);
        first = out.take();
    }
    auto device = make();
    try {
        StateReader in(first, "fuzz");
        restore(*device, in);
    } catch (const SnapshotError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        invariant_failed("a device's own save of a restored state does not restore");
    }
    StateWriter out;
    save(*device, out);
    if (out.data() != first)
        invariant_failed("save after restore is not stable");
    return true;
}

void poke_transport(virtio::VirtioMmioTransport& transport, std::uint16_t queues)
{
    std::uint8_t word[4];
    for (std::uint64_t offset = 0; offset < 0x100; offset += 4)
        transport.read(offset, word);
    transport.read(0x100, word); // config space
    for (std::uint16_t queue = 0; queue < queues + 1; ++queue)
        transport.notify(queue);
    for (const int fd : transport.device_event_fds())
        transport.handle_device_event(fd);
}

void restore_serial(std::span<const std::uint8_t> payload)
{
    const auto make = [] {
        struct Uart {
            testing::FakeInterruptLine line;
            Serial16550 serial {line, [](std::span<const std::uint8_t>) {}};
        };
        return std::make_unique<Uart>();
    };
    using Uart = decltype(make())::element_type;
    const auto save = [](Uart& uart, StateWriter& out) { uart.serial.save_state(out); };
    const auto restore = [](Uart& uart, StateReader& in) { uart.serial.restore_state(in); };
    if (!restores_consistently(payload, make, save, restore))
        return;
    auto uart = make();
    StateReader in(payload, "fuzz");
    uart->serial.restore_state(in);
    for (std::uint8_t reg = 0; reg < 8; ++reg) {
        std::uint8_t value = 0;
        uart->serial.read(reg, {&value, 1});
    }
    const std::uint8_t input[] = {'a', 'b', 'c'};
    (void)uart->serial.push_input(input);
    std::uint8_t out = 'x';
    uart->serial.write(0, {&out, 1});
}

void restore_i8042(std::span<const std::uint8_t> payload)
{
    const auto make = [] { return std::make_unique<I8042>([] {}); };
    const auto save = [](I8042& device, StateWriter& out) { device.save_state(out); };
    const auto restore = [](I8042& device, StateReader& in) { device.restore_state(in); };
    if (!restores_consistently(payload, make, save, restore))
        return;
    auto device = make();
    testing::FakeInterruptLine irq;
    device->set_keyboard_interrupt(&irq);
    StateReader in(payload, "fuzz");
    device->restore_state(in);
    std::uint8_t byte = 0;
    for (int i = 0; i < 20; ++i) {
        device->command_port()->read(0, {&byte, 1});
        device->data_port()->read(0, {&byte, 1});
    }
    byte = 0xf2;
    device->data_port()->write(0, {&byte, 1});
    device->send_ctrl_alt_del();
}

void restore_exit_port(std::span<const std::uint8_t> payload)
{
    const auto make = [] { return std::make_unique<ExitPort>([](std::uint8_t) {}); };
    const auto save = [](ExitPort& device, StateWriter& out) { device.save_state(out); };
    const auto restore = [](ExitPort& device, StateReader& in) { device.restore_state(in); };
    (void)restores_consistently(payload, make, save, restore);
}

void restore_blk(const GuestMemory& memory, std::span<const std::uint8_t> payload)
{
    testing::FakeInterruptLine line;
    const auto make = [&] { return make_blk_transport(memory, line); };
    const auto save = [](virtio::VirtioMmioTransport& transport, StateWriter& out) { transport.save_state(out); };
    const auto restore = [](virtio::VirtioMmioTransport& transport, StateReader& in) { transport.restore_state(in); };
    if (!restores_consistently(payload, make, save, restore))
        return;
    auto transport = make();
    StateReader in(payload, "fuzz");
    transport->restore_state(in);
    poke_transport(*transport, 1);
}

void restore_net(const GuestMemory& memory, std::span<const std::uint8_t> payload)
{
    testing::FakeInterruptLine line;
    testing::FakeNetBackend* backend = nullptr;
    const auto make = [&] { return make_net_transport(memory, line, backend); };
    const auto save = [](virtio::VirtioMmioTransport& transport, StateWriter& out) { transport.save_state(out); };
    const auto restore = [](virtio::VirtioMmioTransport& transport, StateReader& in) { transport.restore_state(in); };
    if (!restores_consistently(payload, make, save, restore))
        return;
    auto transport = make();
    StateReader in(payload, "fuzz");
    transport->restore_state(in);
    std::vector<std::uint8_t> frame(12 + 60, 0x5a);
    std::fill(frame.begin(), frame.begin() + 12, 0);
    backend->incoming.push_back(frame);
    poke_transport(*transport, 2);
}

void restore_limiter(std::span<const std::uint8_t> payload)
{
    FixedClock clock;
    const auto make = [&] { return std::make_unique<limiter::RateLimiter>(vmstate_limiter_config(), clock); };
    const auto save = [](limiter::RateLimiter& limiter, StateWriter& out) { limiter.save_state(out); };
    const auto restore = [](limiter::RateLimiter& limiter, StateReader& in) { limiter.restore_state(in); };
    if (!restores_consistently(payload, make, save, restore))
        return;
    auto restored = make();
    StateReader in(payload, "fuzz");
    restored->restore_state(in);
    for (std::uint64_t bytes : {0ull, 1ull, 4096ull, 1ull << 40}) {
        (void)restored->admit(bytes);
        clock.advance(limiter::Nanos(1'000'000));
    }
}

void check_decoded(const snapshot::Vmstate& state, std::size_t size)
{
    std::size_t total = snapshot::kVmstateHeaderSize;
    for (const auto& section : state.sections)
        total += snapshot::kSectionHeaderSize + section.payload.size();
    if (total != size)
        invariant_failed("decoded sections do not add up to the file");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::uint8_t> file(data, size);
    try {
        check_decoded(snapshot::decode_vmstate(file), size);
    } catch (const SnapshotError&) {
    }

    // The same file with a valid checksum, so that mutations reach the sections.
    if (size < snapshot::kVmstateHeaderSize)
        return 0;
    std::vector<std::uint8_t> sealed(file.begin(), file.end());
    std::fill_n(sealed.begin() + 24, 4, 0);
    const std::uint32_t crc = snapshot::crc32c(0, sealed);
    for (int i = 0; i < 4; ++i)
        sealed[24 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    snapshot::Vmstate state;
    try {
        state = snapshot::decode_vmstate(sealed);
    } catch (const SnapshotError&) {
        return 0;
    }
    check_decoded(state, sealed.size());
    // Encoding what was decoded gives the file back.
    if (snapshot::encode_vmstate(state) != sealed)
        invariant_failed("encode(decode(file)) != file");

    GuestMemory memory = make_vmstate_memory();
    if (state.has(snapshot::SectionType::MachineConfig)) {
        const auto& image = state.find(snapshot::SectionType::MachineConfig).payload;
        (void)memory.write(0, std::span(image).first(std::min<std::size_t>(image.size(), kVmstateRamSize)));
    }
    for (const auto& section : state.sections) {
        if (section.type != snapshot::SectionType::Device && section.type != snapshot::SectionType::Limiter)
            continue;
        // Every payload into every kind of device: the tag turns most away at once, and a payload
        // of one kind that another kind accepts must be handled safely too.
        restore_serial(section.payload);
        restore_i8042(section.payload);
        restore_exit_port(section.payload);
        restore_blk(memory, section.payload);
        restore_net(memory, section.payload);
        restore_limiter(section.payload);
    }
    return 0;
}
