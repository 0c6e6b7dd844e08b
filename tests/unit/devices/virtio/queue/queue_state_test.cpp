// Snapshot and restore of running virtio devices (devices/virtio/queue/queue_state.hpp, the
// VirtioMmioTransport / VirtioBlk / VirtioNet save_state and restore_state): a device saved with
// chains the driver made available and the device has not consumed -- in the ring, or held back by
// a rate limiter -- is restored as a NEW object over the same guest memory and completes them
// after one kick, as the VMM kicks every queue after a restore. A corrupt payload is a
// SnapshotError that leaves the transport reset and usable.
#include <catch2/catch.hpp>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <cstring>
#include <memory>

#include "devices/virtio/blk/disk_spec.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "devices/virtio/queue/queue_state.hpp"
#include "devices/virtio/queue/request_gate.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"
#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/fake_net_backend.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/mmio_transport_driver.hpp"
#include "tests/support/temp_disk_file.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::snapshot::SnapshotError;
using minivmm::snapshot::StateReader;
using minivmm::snapshot::StateWriter;
using minivmm::testing::FakeVirtioDriver;
using minivmm::testing::MmioTransportDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kDiskSize = 64 * 512;

// A gate the test opens and closes: refused requests stay with the device (request_gate.hpp).
class SwitchGate final : public RequestGate {
public:
    bool admit(std::uint16_t, std::uint64_t) override
    {
        if (!open)
            ++refusals;
        return open;
    }
    bool open = true;
    int refusals = 0;
};

std::vector<std::uint8_t> save(const VirtioMmioTransport& transport)
{
    StateWriter out;
    transport.save_state(out);
    return out.take();
}

void restore(VirtioMmioTransport& transport, const std::vector<std::uint8_t>& payload)
{
    StateReader in(payload, "device 0");
    transport.restore_state(in);
}

// ---- virtio-blk

struct BlkMachine {
    explicit BlkMachine(const GuestMemory& memory, const std::string& disk, std::shared_ptr<RequestGate> gate = {})
    {
        DiskSpec spec;
        spec.path = disk;
        spec.serial = "snap";
        auto blk = VirtioBlk::create(spec);
        blk->set_request_gate(std::move(gate));
        transport = std::make_unique<VirtioMmioTransport>("blk", std::move(blk), memory, line);
    }
    testing::FakeInterruptLine line;
    std::unique_ptr<VirtioMmioTransport> transport;
};

struct BlkFixture {
    BlkFixture() : memory(testing::make_test_memory(1 << 20)), disk(kDiskSize), ring(memory, 16) {}

    // A request as Linux lays it out: header, data, status, each its own descriptor.
    struct Request {
        std::uint64_t data;
        std::uint64_t status;
    };
    Request add(std::uint32_t type, std::uint64_t sector, std::vector<std::uint8_t> data)
    {
        virtio_blk_outhdr header {};
        header.type = type;
        header.sector = sector;
        std::vector<std::uint8_t> header_bytes(sizeof header);
        std::memcpy(header_bytes.data(), &header, sizeof header);
        const std::uint64_t header_address = ring.allocate(header_bytes.size());
        ring.write_bytes(header_address, header_bytes);
        const std::uint64_t data_address = ring.allocate(data.size());
        ring.write_bytes(data_address, data);
        const std::uint64_t status_address = ring.allocate(1);
        ring.write_bytes(status_address, {0xff});
        const bool is_read = type == VIRTIO_BLK_T_IN;
        ring.add_chain({{header_address, static_cast<std::uint32_t>(header_bytes.size()), Access::DeviceReads},
            {data_address, static_cast<std::uint32_t>(data.size()), is_read ? Access::DeviceWrites : Access::DeviceReads},
            {status_address, 1, Access::DeviceWrites}});
        return {data_address, status_address};
    }
    std::uint8_t status(const Request& request) const { return ring.read_bytes(request.status, 1)[0]; }

    GuestMemory memory;
    testing::TempDiskFile disk;
    FakeVirtioDriver ring;
};

std::uint64_t blk_features(VirtioMmioTransport& transport)
{
    return transport.with_device([](VirtioDevice& device) { return device.device_features(); });
}

} // namespace

TEST_CASE("snapshot: a virtio-blk restored as a new device completes the chains made available before the snapshot")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    BlkFixture::Request read_request {};
    BlkFixture::Request write_request {};
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        // One request done before the snapshot...
        const auto done = f.add(VIRTIO_BLK_T_OUT, 2, std::vector<std::uint8_t>(512, 0xa2));
        before.transport->notify(0);
        REQUIRE(f.ring.used_idx() == 1);
        REQUIRE(f.status(done) == VIRTIO_BLK_S_OK);
        // ...and two the driver made available without the device having looked yet.
        read_request = f.add(VIRTIO_BLK_T_IN, 2, std::vector<std::uint8_t>(512, 0));
        write_request = f.add(VIRTIO_BLK_T_OUT, 5, std::vector<std::uint8_t>(512, 0xa5));
        MmioTransportDriver::write32(*before.transport, VIRTIO_MMIO_QUEUE_SEL, 0);
        payload = save(*before.transport);
    } // the old device and its disk are gone, as after kill -9

    BlkMachine after(f.memory, f.disk.path());
    restore(*after.transport, payload);
    CHECK(after.transport->status() == MmioTransportDriver::kRunning);
    CHECK(MmioTransportDriver::read32(*after.transport, VIRTIO_MMIO_QUEUE_READY) == 1);
    CHECK(MmioTransportDriver::read32(*after.transport, VIRTIO_MMIO_QUEUE_DESC_LOW) == f.ring.desc_table());
    CHECK(MmioTransportDriver::read32(*after.transport, VIRTIO_MMIO_QUEUE_USED_LOW) == f.ring.used_ring());
    CHECK(f.ring.used_idx() == 1); // restore itself processes nothing
    CHECK(after.line.pulses() == 0);

    // VIRTIO_F_EVENT_IDX: the driver wants an interrupt once the used index passes 1.
    f.ring.set_used_event(1);
    after.transport->notify(0);
    CHECK(f.ring.used_idx() == 3);
    CHECK(f.status(read_request) == VIRTIO_BLK_S_OK);
    CHECK(f.status(write_request) == VIRTIO_BLK_S_OK);
    CHECK(f.ring.read_bytes(read_request.data, 512) == std::vector<std::uint8_t>(512, 0xa2));
    CHECK(f.disk.read(5 * 512, 512) == std::vector<std::uint8_t>(512, 0xa5));
    CHECK(f.ring.used_element(1).len == 513);
    CHECK(after.line.pulses() > 0);
    CHECK(after.transport->interrupt_status() & VIRTIO_MMIO_INT_VRING);
}

TEST_CASE("snapshot: the request a rate limiter held back is completed by the restored virtio-blk")
{
    BlkFixture f;
    auto gate = std::make_shared<SwitchGate>();
    std::vector<std::uint8_t> payload;
    BlkFixture::Request held {};
    {
        BlkMachine before(f.memory, f.disk.path(), gate);
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        gate->open = false;
        held = f.add(VIRTIO_BLK_T_OUT, 9, std::vector<std::uint8_t>(1024, 0x99));
        before.transport->notify(0);
        REQUIRE(gate->refusals == 1);
        REQUIRE(f.ring.used_idx() == 0);
        payload = save(*before.transport);
    }
    BlkMachine after(f.memory, f.disk.path());
    restore(*after.transport, payload);
    after.transport->notify(0);
    CHECK(f.ring.used_idx() == 1);
    CHECK(f.ring.used_element(0).id == 0);
    CHECK(f.status(held) == VIRTIO_BLK_S_OK);
    CHECK(f.disk.read(9 * 512, 1024) == std::vector<std::uint8_t>(1024, 0x99));
    // The chain was taken from the ring once: the next request is the ring's next entry.
    const auto next = f.add(VIRTIO_BLK_T_IN, 9, std::vector<std::uint8_t>(512, 0));
    after.transport->notify(0);
    CHECK(f.ring.used_idx() == 2);
    CHECK(f.status(next) == VIRTIO_BLK_S_OK);
}

TEST_CASE("snapshot: a virtio-blk saved before DRIVER_OK restores to the same point of the initialization")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::write32(*before.transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        MmioTransportDriver::write32(*before.transport, VIRTIO_MMIO_QUEUE_SEL, 0);
        MmioTransportDriver::write32(*before.transport, VIRTIO_MMIO_QUEUE_NUM, 8);
        payload = save(*before.transport);
    }
    BlkMachine after(f.memory, f.disk.path());
    restore(*after.transport, payload);
    CHECK(after.transport->status() == VIRTIO_CONFIG_S_ACKNOWLEDGE);
    CHECK(MmioTransportDriver::read32(*after.transport, VIRTIO_MMIO_QUEUE_READY) == 0);
    // The guest's driver carries on from there.
    MmioTransportDriver::start(*after.transport, blk_features(*after.transport), {&f.ring});
    const auto request = f.add(VIRTIO_BLK_T_IN, 1, std::vector<std::uint8_t>(512, 0));
    after.transport->notify(0);
    CHECK(f.status(request) == VIRTIO_BLK_S_OK);
    CHECK(f.ring.read_bytes(request.data, 512) == std::vector<std::uint8_t>(512, 1));
}

TEST_CASE("snapshot: a virtio-blk whose disk changed size since the snapshot is refused")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        payload = save(*before.transport);
    }
    REQUIRE(::truncate(f.disk.path().c_str(), 2 * kDiskSize) == 0);
    BlkMachine after(f.memory, f.disk.path());
    CHECK_THROWS_WITH(restore(*after.transport, payload),
        "device 0: the disk was 32768 bytes at snapshot time and is 65536 bytes now");
    CHECK(after.transport->status() == 0);
}

TEST_CASE("snapshot: a truncated or corrupt virtio-mmio payload is a SnapshotError and the device stays usable")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        f.add(VIRTIO_BLK_T_IN, 1, std::vector<std::uint8_t>(512, 0));
        payload = save(*before.transport);
    }
    BlkMachine after(f.memory, f.disk.path());
    for (std::size_t size = 0; size < payload.size(); ++size) {
        const std::vector<std::uint8_t> cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(size));
        INFO("cut at " << size);
        CHECK_THROWS_AS(restore(*after.transport, cut), SnapshotError);
        CHECK(after.transport->status() == 0);
    }
    auto longer = payload;
    longer.push_back(0);
    CHECK_THROWS_WITH(restore(*after.transport, longer), Catch::Contains("bytes left over"));

    // Field by field, values no guest can produce: each is refused, and the device is reset.
    struct Corruption {
        std::size_t offset;
        std::uint8_t value;
        const char* message;
    };
    // Layout: tag 4, version 2, device id 4, status 4, interrupt 4, generation 4, ...
    const Corruption corruptions[] = {
        {0, 'X', "not the virtio-mmio transport state"},
        {4, 9, "layout 9"},
        {6, 7, "virtio device id 7 saved"},
        {10, 0xff, "unknown bits"},                // status
        {10, VIRTIO_CONFIG_S_DRIVER_OK, "skips a step"},
        {14, 0x04, "InterruptStatus 0x4"},
    };
    for (const auto& corruption : corruptions) {
        auto bad = payload;
        bad[corruption.offset] = corruption.value;
        INFO("offset " << corruption.offset);
        CHECK_THROWS_WITH(restore(*after.transport, bad), Catch::Contains(corruption.message));
        CHECK(after.transport->status() == 0);
    }

    // Rings outside guest RAM: checked as at DRIVER_OK. The first queue's desc address follows
    // the fixed part (4+2 + 4*6 + 8 + 4*2 + 1 + 4 = 51) and its size and ready bit (3 bytes).
    auto outside = payload;
    const std::uint64_t far = 1ull << 40;
    std::memcpy(outside.data() + 54, &far, 8);
    CHECK_THROWS_WITH(restore(*after.transport, outside), Catch::Contains("queue 0 cannot run: a ring does not lie in guest RAM"));
    CHECK(after.transport->status() == 0);

    // And the restored device still works from a fresh initialization, as after a reset.
    MmioTransportDriver::start(*after.transport, blk_features(*after.transport), {&f.ring});
    CHECK(after.transport->status() == MmioTransportDriver::kRunning);
    // The ring still holds the first request, made available before; a fresh driver would reset
    // its rings, so start a new ring here.
    FakeVirtioDriver ring(f.memory, 16, 0x20000, 0x22000, 0x23000, 0x30000);
    MmioTransportDriver::write32(*after.transport, VIRTIO_MMIO_STATUS, 0);
    MmioTransportDriver::start(*after.transport, blk_features(*after.transport), {&ring});
    const std::uint64_t header = ring.allocate(16);
    virtio_blk_outhdr out {};
    out.type = VIRTIO_BLK_T_IN;
    out.sector = 3;
    std::vector<std::uint8_t> header_bytes(16);
    std::memcpy(header_bytes.data(), &out, 16);
    ring.write_bytes(header, header_bytes);
    const std::uint64_t data = ring.allocate(512);
    const std::uint64_t status = ring.allocate(1);
    ring.add_chain({{header, 16, Access::DeviceReads}, {data, 512, Access::DeviceWrites}, {status, 1, Access::DeviceWrites}});
    after.transport->notify(0);
    CHECK(ring.used_idx() == 1);
    CHECK(ring.read_bytes(data, 512) == std::vector<std::uint8_t>(512, 3));
}

TEST_CASE("snapshot: a virtio-blk whose driver broke a ring rule (DEVICE_NEEDS_RESET) snapshots and restores as broken")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        // A chain whose buffer lies outside RAM: taken from the ring, then refused by pop().
        f.ring.write_descriptor(0, 1ull << 40, 512, 0, 0);
        f.ring.publish(0);
        before.transport->notify(0);
        REQUIRE((before.transport->status() & VIRTIO_CONFIG_S_NEEDS_RESET) != 0);
        payload = save(*before.transport);
    }
    // The guest broke only its own device: the VM's snapshot must still restore.
    BlkMachine after(f.memory, f.disk.path());
    restore(*after.transport, payload);
    CHECK(after.transport->status() == (MmioTransportDriver::kRunning | VIRTIO_CONFIG_S_NEEDS_RESET));
    after.transport->notify(0);
    CHECK(f.ring.used_idx() == 0); // nothing until the driver resets the device
    MmioTransportDriver::write32(*after.transport, VIRTIO_MMIO_STATUS, 0);
    CHECK(after.transport->status() == 0);
}

TEST_CASE("snapshot: every device status a guest can reach restores, FAILED after DRIVER_OK included")
{
    BlkFixture f;
    std::vector<std::uint8_t> payload;
    {
        BlkMachine before(f.memory, f.disk.path());
        MmioTransportDriver::start(*before.transport, blk_features(*before.transport), {&f.ring});
        // virtio-v1.2 §3.1.1: the driver may give up at any point, after DRIVER_OK too.
        MmioTransportDriver::write32(*before.transport, VIRTIO_MMIO_STATUS,
            MmioTransportDriver::kRunning | VIRTIO_CONFIG_S_FAILED);
        REQUIRE(before.transport->status() == (MmioTransportDriver::kRunning | VIRTIO_CONFIG_S_FAILED));
        payload = save(*before.transport);
    }
    BlkMachine after(f.memory, f.disk.path());
    restore(*after.transport, payload);
    CHECK(after.transport->status() == (MmioTransportDriver::kRunning | VIRTIO_CONFIG_S_FAILED));
}

TEST_CASE("snapshot: more held chains than the ring indices say were taken are refused")
{
    auto memory = testing::make_test_memory(1 << 20);
    FakeVirtioDriver ring(memory, 16);
    auto queue = ring.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    std::optional<VirtQueue> running(std::move(*queue));
    StateWriter out;
    out.boolean(true);
    out.u16(16);
    out.u16(5); // next avail
    out.u16(3); // next used: two outstanding
    out.u16(3);
    out.u32(3); // but three held
    out.u16(0);
    out.u16(1);
    out.u16(2);
    StateReader in(out.data(), "device 1");
    CHECK_THROWS_WITH(restore_queue_state(in, running, "requestq", 4),
        "device 1: requestq: 3 chains held but only 2 taken and not used (avail 5, used 3)");

    StateWriter too_many;
    too_many.boolean(true);
    too_many.u16(16);
    too_many.u16(2);
    too_many.u16(0);
    too_many.u16(0);
    too_many.u32(2);
    StateReader in2(too_many.data(), "device 1");
    CHECK_THROWS_WITH(restore_queue_state(in2, running, "requestq", 1), Catch::Contains("requestq held chains is 2"));
}

TEST_CASE("snapshot: a held chain that breaks a ring rule is refused, not used")
{
    auto memory = testing::make_test_memory(1 << 20);
    FakeVirtioDriver ring(memory, 16);
    auto queue = ring.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    std::optional<VirtQueue> running(std::move(*queue));
    // Descriptor 0 points outside RAM.
    ring.write_descriptor(0, 1ull << 40, 512, 0, 0);
    StateWriter out;
    out.boolean(true);
    out.u16(16);
    out.u16(1);
    out.u16(0);
    out.u16(0);
    out.u32(1);
    out.u16(0);
    StateReader in(out.data(), "device 1");
    CHECK_THROWS_WITH(restore_queue_state(in, running, "requestq", 1),
        "device 1: requestq: held chain 0 breaks a ring rule: buffer outside guest RAM");
    // Head past the table.
    StateWriter head;
    head.boolean(true);
    head.u16(16);
    head.u16(1);
    head.u16(0);
    head.u16(0);
    head.u32(1);
    head.u16(16);
    StateReader in2(head.data(), "device 1");
    CHECK_THROWS_WITH(restore_queue_state(in2, running, "requestq", 1), Catch::Contains("descriptor index out of range"));
}

// ---- virtio-net

namespace {

constexpr std::uint64_t kNetFeatures = feature_bit(VIRTIO_F_VERSION_1) | feature_bit(VIRTIO_NET_F_MAC)
    | feature_bit(VIRTIO_F_EVENT_IDX);

struct NetMachine {
    NetMachine(const GuestMemory& memory, std::shared_ptr<RequestGate> gate = {})
    {
        auto fake = std::make_unique<testing::FakeNetBackend>();
        backend = fake.get();
        VirtioNet::Options options;
        options.mac = *MacAddress::parse("02:00:00:12:34:56");
        options.name = "snap";
        auto net = std::make_unique<VirtioNet>(std::move(fake), options);
        net->set_request_gate(std::move(gate));
        transport = std::make_unique<VirtioMmioTransport>("net", std::move(net), memory, line);
    }
    testing::FakeInterruptLine line;
    testing::FakeNetBackend* backend = nullptr;
    std::unique_ptr<VirtioMmioTransport> transport;
};

struct NetFixture {
    NetFixture()
        : memory(testing::make_test_memory(8 << 20))
        , rx(memory, 16, 0x1000, 0x3000, 0x4000, 0x100000)
        , tx(memory, 16, 0x5000, 0x7000, 0x8000, 0x500000)
    {
    }
    std::uint16_t send(const std::vector<std::uint8_t>& frame)
    {
        std::vector<std::uint8_t> bytes(kNetHeaderSize, 0);
        bytes.insert(bytes.end(), frame.begin(), frame.end());
        const std::uint64_t address = tx.allocate(bytes.size());
        tx.write_bytes(address, bytes);
        return tx.add_chain({{address, static_cast<std::uint32_t>(bytes.size()), Access::DeviceReads}});
    }
    std::uint64_t post_rx(std::uint32_t length)
    {
        const std::uint64_t address = rx.allocate(length);
        rx.add_chain({{address, length, Access::DeviceWrites}});
        return address;
    }
    GuestMemory memory;
    FakeVirtioDriver rx;
    FakeVirtioDriver tx;
};

std::vector<std::uint8_t> frame(std::size_t length, std::uint8_t seed)
{
    std::vector<std::uint8_t> bytes(length);
    for (std::size_t i = 0; i < length; ++i)
        bytes[i] = static_cast<std::uint8_t>(i * 3 + seed);
    return bytes;
}

std::vector<std::uint8_t> with_header(const std::vector<std::uint8_t>& frame)
{
    std::vector<std::uint8_t> bytes(kNetHeaderSize, 0);
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    return bytes;
}

} // namespace

TEST_CASE("snapshot: a virtio-net restored as a new device transmits the frames queued and held before the snapshot")
{
    NetFixture f;
    auto gate = std::make_shared<SwitchGate>();
    std::vector<std::uint8_t> payload;
    {
        NetMachine before(f.memory, gate);
        MmioTransportDriver::start(*before.transport, kNetFeatures, {&f.rx, &f.tx});
        f.send(frame(60, 1));
        before.transport->notify(VirtioNet::kTxQueue);
        REQUIRE(before.backend->written.size() == 1);
        gate->open = false;
        f.send(frame(70, 2)); // held by the gate
        before.transport->notify(VirtioNet::kTxQueue);
        f.send(frame(80, 3)); // in the ring, not looked at
        REQUIRE(gate->refusals == 1);
        payload = save(*before.transport);
    }
    NetMachine after(f.memory);
    restore(*after.transport, payload);
    CHECK(after.backend->written.empty());
    CHECK(after.backend->offloads.size() == 1); // the tap's offloads set as at DRIVER_OK
    after.transport->notify(VirtioNet::kTxQueue);
    REQUIRE(after.backend->written.size() == 2);
    CHECK(after.backend->written[0] == with_header(frame(70, 2)));
    CHECK(after.backend->written[1] == with_header(frame(80, 3)));
    CHECK(f.tx.used_idx() == 3);
}

TEST_CASE("snapshot: a virtio-net restored as a new device delivers the received frame it held and uses the buffers posted")
{
    NetFixture f;
    auto gate = std::make_shared<SwitchGate>();
    std::vector<std::uint8_t> payload;
    std::uint64_t first_buffer = 0;
    std::uint64_t second_buffer = 0;
    {
        NetMachine before(f.memory, gate);
        MmioTransportDriver::start(*before.transport, kNetFeatures, {&f.rx, &f.tx});
        first_buffer = f.post_rx(2048);
        second_buffer = f.post_rx(2048);
        gate->open = false;
        before.backend->incoming.push_back(with_header(frame(100, 7)));
        before.transport->notify(VirtioNet::kRxQueue);
        REQUIRE(gate->refusals == 1); // the frame is read from the tap and waits for the gate
        REQUIRE(before.backend->incoming.empty());
        REQUIRE(f.rx.used_idx() == 0);
        payload = save(*before.transport);
    }
    NetMachine after(f.memory);
    after.backend->incoming.push_back(with_header(frame(90, 8)));
    restore(*after.transport, payload);
    CHECK(f.rx.used_idx() == 0);
    after.transport->notify(VirtioNet::kRxQueue);
    REQUIRE(f.rx.used_idx() == 2);
    CHECK(f.rx.used_element(0).len == kNetHeaderSize + 100);
    CHECK(f.rx.read_bytes(first_buffer + kNetHeaderSize, 100) == frame(100, 7));
    CHECK(f.rx.read_bytes(second_buffer + kNetHeaderSize, 90) == frame(90, 8));
}

TEST_CASE("snapshot: a virtio-net payload restored under another MAC, or truncated, is refused and the device reset")
{
    NetFixture f;
    std::vector<std::uint8_t> payload;
    {
        NetMachine before(f.memory);
        MmioTransportDriver::start(*before.transport, kNetFeatures, {&f.rx, &f.tx});
        f.post_rx(2048);
        before.transport->notify(VirtioNet::kRxQueue);
        payload = save(*before.transport);
    }
    NetMachine after(f.memory);
    for (std::size_t size = 0; size < payload.size(); ++size) {
        const std::vector<std::uint8_t> cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(size));
        INFO("cut at " << size);
        CHECK_THROWS_AS(restore(*after.transport, cut), SnapshotError);
        CHECK(after.transport->status() == 0);
    }
    // The MAC follows the transport's part: tag 4 + version 2 + 51 - 6 + 2 queues * 27 + tag/version 6.
    auto other_mac = payload;
    const std::size_t mac_offset = 51 + 2 * 27 + 6;
    other_mac[mac_offset + 5] ^= 1;
    CHECK_THROWS_WITH(restore(*after.transport, other_mac), Catch::Contains("virtio-net saved with MAC 02:00:00:12:34:57"));
    restore(*after.transport, payload);
    CHECK(after.transport->status() == MmioTransportDriver::kRunning);
}

TEST_CASE("snapshot: a virtio-net payload with a received frame pending but no buffer for it (no MRG_RXBUF) is refused")
{
    NetFixture f;
    auto gate = std::make_shared<SwitchGate>();
    std::vector<std::uint8_t> payload;
    {
        NetMachine before(f.memory, gate);
        MmioTransportDriver::start(*before.transport, kNetFeatures, {&f.rx, &f.tx}); // no MRG_RXBUF
        f.post_rx(2048);
        gate->open = false;
        before.backend->incoming.push_back(with_header(frame(100, 7)));
        before.transport->notify(VirtioNet::kRxQueue);
        REQUIRE(gate->refusals == 1); // frame pending, its one buffer held
        payload = save(*before.transport);
    }
    // The receiveq's state follows the transport (51 + 2 * 27), the tag (6), MAC, MTU and the
    // active flag (9): enabled 1, size 2, next avail 2, next used 2, signalled 2, held count 4,
    // then the held head. Make it "nothing taken": next used = next avail, no head.
    const std::size_t rx_state = 51 + 2 * 27 + 6 + 9;
    REQUIRE(payload[rx_state] == 1);
    REQUIRE(payload[rx_state + 9] == 1);
    payload[rx_state + 5] = payload[rx_state + 3];
    payload[rx_state + 6] = payload[rx_state + 4];
    payload[rx_state + 9] = 0;
    payload.erase(payload.begin() + rx_state + 13, payload.begin() + rx_state + 15);
    NetMachine after(f.memory);
    CHECK_THROWS_WITH(restore(*after.transport, payload),
        "device 0: a pending received frame but no receive buffer for it");
    CHECK(after.transport->status() == 0);
}
