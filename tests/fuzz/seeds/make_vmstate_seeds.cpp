// Writes the committed seeds of fuzz_vmstate (tests/fuzz/corpus/fuzz_vmstate/): vmstate files of
// the fuzz target's machine (vmstate_fuzz_machine.hpp) saved idle, running with chains available,
// and with requests held back by closed rate-limit gates (a blk request, a net frame each way).
// Usage: make_vmstate_seeds DIR (built on demand: `ninja -C build make_vmstate_seeds`).
#include <linux/virtio_blk.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/queue/request_gate.hpp"
#include "tests/fuzz/vmstate_fuzz_machine.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/mmio_transport_driver.hpp"
#include "vmm/snapshot/vmstate_format.hpp"

using namespace minivmm;
using namespace minivmm::fuzz;
using minivmm::testing::FakeVirtioDriver;
using minivmm::testing::MmioTransportDriver;
using Access = FakeVirtioDriver::Access;

namespace {

class SwitchGate final : public virtio::RequestGate {
public:
    bool admit(std::uint16_t, std::uint64_t) override { return open; }
    bool open = true;
};

class ManualClock final : public limiter::Clock {
public:
    [[nodiscard]] limiter::Nanos now() const override { return m_now; }
    void advance(limiter::Nanos by) { m_now += by; }

private:
    limiter::Nanos m_now {0};
};

// Held: requests held back by closed gates, receive buffers merged (MRG_RXBUF). HeldPlain: the
// same without MRG_RXBUF, a received frame waiting with the one buffer it needs.
enum class Scene { Idle, Running, Held, HeldPlain };

template<typename Device>
std::vector<std::uint8_t> saved(const Device& device)
{
    snapshot::StateWriter out;
    device.save_state(out);
    return out.take();
}

void add_blk_request(FakeVirtioDriver& ring, std::uint32_t type, std::uint64_t sector, std::uint32_t length)
{
    virtio_blk_outhdr header {};
    header.type = type;
    header.sector = sector;
    std::vector<std::uint8_t> bytes(sizeof header);
    std::memcpy(bytes.data(), &header, sizeof header);
    const std::uint64_t header_address = ring.allocate(bytes.size());
    ring.write_bytes(header_address, bytes);
    const std::uint64_t data = ring.allocate(length);
    ring.write_bytes(data, std::vector<std::uint8_t>(length, 0x42));
    const std::uint64_t status = ring.allocate(1);
    const bool read = type == VIRTIO_BLK_T_IN;
    ring.add_chain({{header_address, static_cast<std::uint32_t>(bytes.size()), Access::DeviceReads},
        {data, length, read ? Access::DeviceWrites : Access::DeviceReads}, {status, 1, Access::DeviceWrites}});
}

std::vector<std::uint8_t> with_header(std::size_t frame_length, std::uint8_t fill)
{
    std::vector<std::uint8_t> bytes(virtio::kNetHeaderSize + frame_length, fill);
    std::fill_n(bytes.begin(), virtio::kNetHeaderSize, 0);
    return bytes;
}

std::vector<std::uint8_t> make_seed(Scene scene)
{
    GuestMemory memory = make_vmstate_memory();
    snapshot::Vmstate state;
    const auto add = [&state](snapshot::SectionType type, std::uint32_t instance, std::vector<std::uint8_t> payload) {
        state.sections.push_back({type, instance, std::move(payload)});
    };

    testing::FakeInterruptLine serial_line;
    Serial16550 serial(serial_line, [](std::span<const std::uint8_t>) {});
    I8042 keyboard([] {});
    ExitPort exit_port([](std::uint8_t) {});
    testing::FakeInterruptLine blk_line;
    testing::FakeInterruptLine net_line;
    auto blk_gate = std::make_shared<SwitchGate>();
    auto net_gate = std::make_shared<SwitchGate>();
    auto blk = make_blk_transport(memory, blk_line);
    blk->with_device([&](virtio::VirtioDevice& device) {
        static_cast<virtio::VirtioBlk&>(device).set_request_gate(blk_gate);
        return 0;
    });
    testing::FakeNetBackend* backend = nullptr;
    auto net = make_net_transport(memory, net_line, backend, net_gate);
    ManualClock clock;
    limiter::RateLimiter limiter(vmstate_limiter_config(), clock);

    FakeVirtioDriver blk_ring(memory, 16, 0x0, 0x100, 0x200, 0x400);
    FakeVirtioDriver rx_ring(memory, 16, 0x1000, 0x1100, 0x1200, 0x1400);
    FakeVirtioDriver tx_ring(memory, 16, 0x2000, 0x2100, 0x2200, 0x2400);
    if (scene != Scene::Idle) {
        const std::uint8_t setup[][2] = {{3, 0x83}, {0, 0x01}, {3, 0x03}, {2, 0xc1}, {4, 0x0b}, {1, 0x0f}};
        for (const auto& [reg, value] : setup)
            serial.write(reg, {&value, 1});
        const std::uint8_t input[] = {'s', 'n', 'a', 'p'};
        (void)serial.push_input(input);
        std::uint8_t byte = 0xf2; // read ID: ACK, AB, 83 waiting
        keyboard.data_port()->write(0, {&byte, 1});
        byte = 0x60; // write command byte: its data byte pending
        keyboard.command_port()->write(0, {&byte, 1});

        const std::uint64_t blk_features = blk->with_device([](virtio::VirtioDevice& d) { return d.device_features(); });
        MmioTransportDriver::start(*blk, blk_features, {&blk_ring});
        add_blk_request(blk_ring, VIRTIO_BLK_T_OUT, 1, 512);
        blk->notify(0);
        const std::uint64_t net_features = virtio::feature_bit(VIRTIO_F_VERSION_1) | virtio::feature_bit(VIRTIO_NET_F_MAC)
            | virtio::feature_bit(virtio::VIRTIO_F_EVENT_IDX) | virtio::feature_bit(virtio::VIRTIO_F_INDIRECT_DESC)
            | (scene == Scene::HeldPlain ? 0 : virtio::feature_bit(VIRTIO_NET_F_MRG_RXBUF));
        MmioTransportDriver::start(*net, net_features, {&rx_ring, &tx_ring});
        for (int i = 0; i < 3; ++i) {
            const std::uint64_t buffer = rx_ring.allocate(128);
            rx_ring.add_chain({{buffer, 128, Access::DeviceWrites}});
        }
        const std::uint64_t frame = tx_ring.allocate(72);
        tx_ring.write_bytes(frame, with_header(60, 0x11));
        tx_ring.add_chain({{frame, 72, Access::DeviceReads}});
        net->notify(virtio::VirtioNet::kTxQueue);
        clock.advance(limiter::Nanos(500'000'000));
        (void)limiter.admit(300'000);
    }
    if (scene == Scene::Held || scene == Scene::HeldPlain) {
        blk_gate->open = false;
        net_gate->open = false;
        add_blk_request(blk_ring, VIRTIO_BLK_T_IN, 2, 1024);
        blk->notify(0); // held by the gate
        add_blk_request(blk_ring, VIRTIO_BLK_T_OUT, 3, 512); // in the ring
        // Merged: spans two of the 128-byte buffers; plain: dropped as too big for one, then the
        // small frame after it waits with its buffer.
        backend->incoming.push_back(with_header(200, 0x22));
        backend->incoming.push_back(with_header(60, 0x44));
        net->notify(virtio::VirtioNet::kRxQueue);
        const std::uint64_t frame = tx_ring.allocate(112);
        const auto bytes = with_header(100, 0x33);
        tx_ring.write_bytes(frame, {bytes.begin(), bytes.begin() + 40});
        tx_ring.write_bytes(frame + 40, {bytes.begin() + 40, bytes.end()});
        tx_ring.add_indirect_chain({{frame, 40, Access::DeviceReads}, {frame + 40, 72, Access::DeviceReads}});
        net->notify(virtio::VirtioNet::kTxQueue);
        (void)limiter.admit(10'000'000); // refused: in progress at the snapshot
    }

    // Guest RAM up to its last non-zero byte, as the fuzz target reads MachineConfig.
    std::vector<std::uint8_t> image(kVmstateRamSize);
    if (!memory.read(0, image))
        std::abort();
    while (!image.empty() && image.back() == 0)
        image.pop_back();
    add(snapshot::SectionType::MachineConfig, 0, image);
    add(snapshot::SectionType::Device, kSerial, saved(serial));
    add(snapshot::SectionType::Device, kI8042, saved(keyboard));
    add(snapshot::SectionType::Device, kExitPort, saved(exit_port));
    add(snapshot::SectionType::Device, kBlk, saved(*blk));
    add(snapshot::SectionType::Device, kNet, saved(*net));
    snapshot::StateWriter limiter_state;
    limiter.save_state(limiter_state);
    add(snapshot::SectionType::Limiter, 0, limiter_state.take());
    return snapshot::encode_vmstate(state);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    std::filesystem::create_directories(dir);
    const std::pair<const char*, Scene> scenes[] = {
        {"seed-idle.vmstate", Scene::Idle}, {"seed-running.vmstate", Scene::Running}, {"seed-held.vmstate", Scene::Held},
        {"seed-held-plain.vmstate", Scene::HeldPlain}};
    for (const auto& [name, scene] : scenes) {
        const auto bytes = make_seed(scene);
        std::ofstream out(dir / name, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        std::printf("%s: %zu bytes\n", name, bytes.size());
    }
    return 0;
}
