// Tests for VirtioBlk and its request parsing: virtio-v1.2 §5.2 (Block Device), §2.7.4.1
// (Message Framing), and the DiskSpec / DiskImage host side.
#include <catch2/catch.hpp>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <poll.h>

#include <cstring>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/disk_spec.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/queue/queue_runner.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"
#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/temp_disk_file.hpp"
#include "tests/support/test_guest_memory.hpp"
#include "vmm/base/sys_error.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kDiskSize = 64 * 512;

class RecordingNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override { ++used_signals; }
    void report_guest_error(std::string_view) override { ++guest_errors; }
    void schedule_queue_rerun(std::uint16_t queue) override { reruns.push_back(queue); }
    void notify_config_change() override {}
    int used_signals = 0;
    int guest_errors = 0;
    std::vector<std::uint16_t> reruns;
};

std::vector<std::uint8_t> header(std::uint32_t type, std::uint64_t sector)
{
    virtio_blk_outhdr hdr{};
    hdr.type = type;
    hdr.sector = sector;
    std::vector<std::uint8_t> bytes(sizeof hdr);
    std::memcpy(bytes.data(), &hdr, sizeof hdr);
    return bytes;
}

struct Fixture {
    explicit Fixture(DiskSpec spec_overrides = {}, DiskEngine engine = DiskEngine::Sync)
        : memory(testing::make_test_memory(1 << 20)), disk(kDiskSize), driver(memory, 16)
    {
        DiskSpec spec = spec_overrides;
        spec.path = disk.path();
        spec.engine = engine;
        if (spec.serial.empty())
            spec.serial = "minivmm-serial";
        blk = VirtioBlk::create(spec);
        auto queue = driver.config().activate(memory, blk->device_features());
        REQUIRE(queue.has_value());
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*queue));
        blk->activate({memory, blk->device_features(), std::move(queues), notifier});
    }
    // Runs the queue; for the uring engine, waits for completions by handling its eventfd.
    void run()
    {
        blk->process_queue(0);
        for (int fd : blk->event_fds()) {
            // Wait on the completion eventfd as the event loop would (bounded, not a sleep).
            for (int round = 0; round < 100 && driver.used_idx() != driver_expected; ++round) {
                pollfd ready{fd, POLLIN, 0};
                if (::poll(&ready, 1, 5000) <= 0)
                    break;
                blk->handle_event(fd);
            }
        }
    }
    std::uint8_t status_at(std::uint64_t address) { return driver.read_bytes(address, 1)[0]; }

    GuestMemory memory;
    testing::TempDiskFile disk;
    FakeVirtioDriver driver;
    RecordingNotifier notifier;
    std::unique_ptr<VirtioBlk> blk;
    std::uint16_t driver_expected = 0;
};

} // namespace

TEST_CASE("--disk: parse_disk_spec accepts every key and rejects unknown keys and bad values")
{
    auto spec = parse_disk_spec("path=/tmp/a.img,readonly=on,serial=abc,direct=on,engine=uring");
    CHECK(spec.path == "/tmp/a.img");
    CHECK(spec.access == DiskAccess::ReadOnly);
    CHECK(spec.serial == "abc");
    CHECK(spec.cache == DiskCache::Direct);
    CHECK(spec.engine == DiskEngine::Uring);
    CHECK(parse_disk_spec("path=x").engine == DiskEngine::Sync);
    CHECK_THROWS_AS(parse_disk_spec("path=x,color=red"), UserError);
    CHECK_THROWS_AS(parse_disk_spec("path=x,readonly=yes"), UserError);
    CHECK_THROWS_AS(parse_disk_spec("path=x,engine=aio"), UserError);
    CHECK_THROWS_AS(parse_disk_spec("readonly=on"), UserError);
    CHECK_THROWS_AS(parse_disk_spec("path=x,serial=123456789012345678901"), UserError);
    CHECK_THROWS_AS(parse_disk_spec("path=x,bare"), UserError);
}

TEST_CASE("virtio-blk: a second writable open of a locked image fails with a clear message")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    auto first = DiskImage::open(spec);
    try {
        (void)DiskImage::open(spec);
        FAIL("second open succeeded");
    } catch (const UserError& error) {
        CHECK(std::string(error.what()).find("in use by another process (locked)") != std::string::npos);
    }
    spec.access = DiskAccess::ReadOnly;
    CHECK_THROWS_AS(DiskImage::open(spec), UserError);
}

TEST_CASE("virtio-blk: a missing image is a SysError naming the path")
{
    DiskSpec spec;
    spec.path = "/nonexistent/minivmm.img";
    CHECK_THROWS_WITH(DiskImage::open(spec), Catch::Contains("/nonexistent/minivmm.img"));
}

TEST_CASE("virtio-v1.2 §5.2.6: header split across descriptors and data+status in one descriptor parse")
{
    auto memory = testing::make_test_memory(1 << 20);
    FakeVirtioDriver driver(memory);
    auto queue = driver.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    auto hdr = header(VIRTIO_BLK_T_IN, 3);
    driver.write_bytes(0x20000, {hdr.begin(), hdr.begin() + 5});
    driver.write_bytes(0x21000, {hdr.begin() + 5, hdr.end()});
    driver.add_chain({{0x20000, 5, Access::DeviceReads}, {0x21000, 11, Access::DeviceReads},
        {0x30000, 513, Access::DeviceWrites}});
    auto popped = queue->pop();
    REQUIRE(popped.has_value());
    REQUIRE(popped->has_value());
    auto request = parse_blk_request(memory, **popped);
    CHECK(request.parse == BlkRequest::Parse::Ok);
    CHECK(request.type == VIRTIO_BLK_T_IN);
    CHECK(request.sector == 3);
    CHECK(request.writable == std::vector<GuestRange>{{0x30000, 512}});
    CHECK(request.status_address == 0x30000 + 512);
}

TEST_CASE("virtio-v1.2 §5.2.6: a chain without a writable byte has no status to answer")
{
    auto memory = testing::make_test_memory(1 << 20);
    FakeVirtioDriver driver(memory);
    auto queue = driver.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    driver.add_chain({{0x20000, 16, Access::DeviceReads}});
    auto popped = queue->pop();
    REQUIRE(popped.has_value());
    CHECK(parse_blk_request(memory, **popped).parse == BlkRequest::Parse::NoStatusByte);
}

TEST_CASE("virtio-v1.2 §5.2.6: VIRTIO_BLK_T_IN reads sectors into buffers split oddly")
{
    for (auto engine : {DiskEngine::Sync, DiskEngine::Uring}) {
        Fixture f({}, engine);
        f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_IN, 5));
        // 1024 data bytes over 3 buffers, the last one sharing its descriptor with the status.
        const auto head = f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 100, Access::DeviceWrites},
            {0x31000, 700, Access::DeviceWrites}, {0x32000, 225, Access::DeviceWrites}});
        f.driver_expected = 1;
        f.run();
        REQUIRE(f.driver.used_idx() == 1);
        CHECK(f.driver.used_element(0).id == head);
        CHECK(f.driver.used_element(0).len == 1025);
        CHECK(f.status_at(0x32000 + 224) == VIRTIO_BLK_S_OK);
        CHECK(f.driver.read_bytes(0x30000, 100) == std::vector<std::uint8_t>(100, 5));
        CHECK(f.driver.read_bytes(0x31000 + 411, 1)[0] == 5);
        CHECK(f.driver.read_bytes(0x31000 + 412, 1)[0] == 6);
        CHECK(f.driver.read_bytes(0x32000, 224) == std::vector<std::uint8_t>(224, 6));
        CHECK(f.notifier.used_signals == 1);
    }
}

TEST_CASE("virtio-v1.2 §5.2.6: VIRTIO_BLK_T_OUT writes sectors; FLUSH completes OK")
{
    for (auto engine : {DiskEngine::Sync, DiskEngine::Uring}) {
        Fixture f({}, engine);
        auto hdr = header(VIRTIO_BLK_T_OUT, 2);
        f.driver.write_bytes(0x20000, hdr);
        f.driver.write_bytes(0x21000, std::vector<std::uint8_t>(512, 0xab));
        f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x21000, 512, Access::DeviceReads},
            {0x30000, 1, Access::DeviceWrites}});
        f.driver.write_bytes(0x22000, header(VIRTIO_BLK_T_FLUSH, 0));
        f.driver.add_chain({{0x22000, 16, Access::DeviceReads}, {0x30010, 1, Access::DeviceWrites}});
        f.driver_expected = 2;
        f.run();
        REQUIRE(f.driver.used_idx() == 2);
        CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_OK);
        CHECK(f.status_at(0x30010) == VIRTIO_BLK_S_OK);
        CHECK(f.disk.read(2 * 512, 512) == std::vector<std::uint8_t>(512, 0xab));
        CHECK(f.disk.read(3 * 512, 1)[0] == 3);
    }
}

TEST_CASE("virtio-v1.2 §5.2.6: header and data in one readable descriptor")
{
    Fixture f;
    auto bytes = header(VIRTIO_BLK_T_OUT, 1);
    bytes.resize(16 + 512, 0xcd);
    f.driver.write_bytes(0x20000, bytes);
    f.driver.add_chain({{0x20000, 16 + 512, Access::DeviceReads}, {0x30000, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_OK);
    CHECK(f.disk.read(512, 512) == std::vector<std::uint8_t>(512, 0xcd));
}

TEST_CASE("virtio-v1.2 §5.2.6.2: a request beyond the end of the disk answers IOERR")
{
    Fixture f;
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_IN, 63));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 1024, Access::DeviceWrites},
        {0x31000, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x22000, header(VIRTIO_BLK_T_IN, 0xffff'ffff'ffff'ffff));
    f.driver.add_chain({{0x22000, 16, Access::DeviceReads}, {0x32000, 512, Access::DeviceWrites},
        {0x33000, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x31000) == VIRTIO_BLK_S_IOERR);
    CHECK(f.status_at(0x33000) == VIRTIO_BLK_S_IOERR);
    CHECK(f.driver.used_element(0).len == 1);
}

TEST_CASE("virtio-v1.2 §5.2.6.1: data not a multiple of 512 bytes answers IOERR")
{
    Fixture f;
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_IN, 0));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 100, Access::DeviceWrites},
        {0x31000, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x31000) == VIRTIO_BLK_S_IOERR);
}

TEST_CASE("virtio-v1.2 §5.2.6.2: a write to a read-only disk answers IOERR and writes nothing")
{
    DiskSpec spec;
    spec.access = DiskAccess::ReadOnly;
    Fixture f(spec);
    CHECK(f.blk->device_features() & feature_bit(VIRTIO_BLK_F_RO));
    CHECK_FALSE(f.blk->device_features() & feature_bit(VIRTIO_BLK_F_DISCARD));
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_OUT, 0));
    f.driver.write_bytes(0x21000, std::vector<std::uint8_t>(512, 0xee));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x21000, 512, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_IOERR);
    CHECK(f.disk.read(0, 512) == std::vector<std::uint8_t>(512, 0));
}

TEST_CASE("virtio-v1.2 §5.2.6: GET_ID returns the serial, NUL-padded to 20 bytes")
{
    Fixture f;
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_GET_ID, 0));
    f.driver.write_bytes(0x30000, std::vector<std::uint8_t>(20, 0xff));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 21, Access::DeviceWrites}});
    f.run();
    auto id = f.driver.read_bytes(0x30000, 20);
    CHECK(std::string(id.begin(), id.begin() + 14) == "minivmm-serial");
    CHECK(id[14] == 0);
    CHECK(f.status_at(0x30000 + 20) == VIRTIO_BLK_S_OK);
    CHECK(f.driver.used_element(0).len == 21);
}

TEST_CASE("virtio-v1.2 §5.2.6.2: an unknown request type answers UNSUPP; a short header answers IOERR")
{
    Fixture f;
    f.driver.write_bytes(0x20000, header(99, 0));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 1, Access::DeviceWrites}});
    f.driver.add_chain({{0x20000, 8, Access::DeviceReads}, {0x30010, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_UNSUPP);
    CHECK(f.status_at(0x30010) == VIRTIO_BLK_S_IOERR);
}

TEST_CASE("virtio-v1.2 §5.2.6: DISCARD and WRITE_ZEROES zero the range; discard with unmap flag is UNSUPP")
{
    // Both engines: on io_uring the zeroing runs as IORING_OP_FALLOCATE, completed through the
    // engine's eventfd like a read.
    const DiskEngine engine = GENERATE(DiskEngine::Sync, DiskEngine::Uring);
    CAPTURE(engine == DiskEngine::Sync ? "sync" : "uring");
    Fixture f({}, engine);
    f.driver_expected = 4;
    auto segment = [](std::uint64_t sector, std::uint32_t count, std::uint32_t flags) {
        virtio_blk_discard_write_zeroes value{};
        value.sector = sector;
        value.num_sectors = count;
        value.flags = flags;
        std::vector<std::uint8_t> bytes(sizeof value);
        std::memcpy(bytes.data(), &value, sizeof value);
        return bytes;
    };
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_WRITE_ZEROES, 0));
    f.driver.write_bytes(0x20100, segment(4, 2, 0));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x20100, 16, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x21000, header(VIRTIO_BLK_T_DISCARD, 0));
    f.driver.write_bytes(0x21100, segment(8, 8, 0));
    f.driver.add_chain({{0x21000, 16, Access::DeviceReads}, {0x21100, 16, Access::DeviceReads},
        {0x30010, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x22000, header(VIRTIO_BLK_T_DISCARD, 0));
    f.driver.write_bytes(0x22100, segment(8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP));
    f.driver.add_chain({{0x22000, 16, Access::DeviceReads}, {0x22100, 16, Access::DeviceReads},
        {0x30020, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x23000, header(VIRTIO_BLK_T_WRITE_ZEROES, 0));
    f.driver.write_bytes(0x23100, segment(60, 8, 0)); // past the end
    f.driver.add_chain({{0x23000, 16, Access::DeviceReads}, {0x23100, 16, Access::DeviceReads},
        {0x30030, 1, Access::DeviceWrites}});
    f.run();
    CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_OK);
    CHECK(f.disk.read(4 * 512, 1024) == std::vector<std::uint8_t>(1024, 0));
    CHECK(f.disk.read(6 * 512, 1)[0] == 6);
    CHECK(f.status_at(0x30010) == VIRTIO_BLK_S_OK); // /tmp supports hole punching
    CHECK(f.disk.read(8 * 512, 8 * 512) == std::vector<std::uint8_t>(8 * 512, 0));
    CHECK(f.status_at(0x30020) == VIRTIO_BLK_S_UNSUPP);
    CHECK(f.status_at(0x30030) == VIRTIO_BLK_S_IOERR);
    CHECK(f.disk.read(kDiskSize - 1, 1)[0] == 63);
}

TEST_CASE("virtio-v1.2 §5.2.4: config space reports capacity, seg_max and blk_size")
{
    Fixture f;
    std::uint8_t bytes[8];
    f.blk->read_config(0, bytes);
    std::uint64_t capacity;
    std::memcpy(&capacity, bytes, 8);
    CHECK(capacity == kDiskSize / 512);
    std::uint8_t word[4];
    f.blk->read_config(offsetof(virtio_blk_config, blk_size), word);
    std::uint32_t blk_size;
    std::memcpy(&blk_size, word, 4);
    CHECK(blk_size == 512);
    f.blk->read_config(offsetof(virtio_blk_config, seg_max), word);
    std::uint32_t seg_max;
    std::memcpy(&seg_max, word, 4);
    CHECK(seg_max == VirtioBlk::kQueueSize - 2);
}

TEST_CASE("virtio-v1.2 §2.1.2: a broken ring marks the blk device for reset; reset then a clean request works")
{
    Fixture f;
    f.driver.set_avail_idx(200);
    f.run();
    CHECK(f.notifier.guest_errors == 1);
    f.blk->reset();

    FakeVirtioDriver fresh(f.memory);
    fresh.set_avail_idx(0);
    (void)f.memory.write_obj<std::uint16_t>(fresh.used_ring() + 2, 0);
    auto queue = fresh.config().activate(f.memory, f.blk->device_features());
    REQUIRE(queue.has_value());
    std::vector<std::optional<VirtQueue>> queues;
    queues.emplace_back(std::move(*queue));
    f.blk->activate({f.memory, f.blk->device_features(), std::move(queues), f.notifier});
    fresh.write_bytes(0x20000, header(VIRTIO_BLK_T_IN, 1));
    fresh.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 513, Access::DeviceWrites}});
    f.blk->process_queue(0);
    CHECK(fresh.used_idx() == 1);
    CHECK(f.status_at(0x30000 + 512) == VIRTIO_BLK_S_OK);
    CHECK(f.driver.read_bytes(0x30000, 1)[0] == 1);
}

TEST_CASE("virtio-blk over virtio-mmio: negotiation refuses unoffered bits, then a read works end to end")
{
    testing::TempDiskFile disk(kDiskSize);
    auto memory = testing::make_test_memory(1 << 20);
    testing::FakeInterruptLine line;
    DiskSpec spec;
    spec.path = disk.path();
    VirtioMmioTransport transport("blk0", VirtioBlk::create(spec), memory, line);
    auto write32 = [&](std::uint64_t offset, std::uint32_t value) {
        std::uint8_t bytes[4];
        std::memcpy(bytes, &value, 4);
        transport.write(offset, bytes);
    };
    auto read32 = [&](std::uint64_t offset) {
        std::uint8_t bytes[4];
        transport.read(offset, bytes);
        std::uint32_t value;
        std::memcpy(&value, bytes, 4);
        return value;
    };
    CHECK(read32(VIRTIO_MMIO_DEVICE_ID) == 2u);
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_BLK_F_MQ); // not offered
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    CHECK_FALSE(read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
    write32(VIRTIO_MMIO_STATUS, 0);

    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, (1u << VIRTIO_BLK_F_FLUSH) | (1u << VIRTIO_F_EVENT_IDX));
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    REQUIRE(read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
    FakeVirtioDriver driver(memory, 16);
    write32(VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK(read32(VIRTIO_MMIO_QUEUE_NUM_MAX) == VirtioBlk::kQueueSize);
    write32(VIRTIO_MMIO_QUEUE_NUM, 16);
    write32(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_table()));
    write32(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_ring()));
    write32(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_ring()));
    write32(VIRTIO_MMIO_QUEUE_READY, 1);
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK
            | VIRTIO_CONFIG_S_DRIVER_OK);
    driver.set_used_event(0);
    driver.write_bytes(0x20000, header(VIRTIO_BLK_T_IN, 7));
    driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x30000, 513, Access::DeviceWrites}});
    write32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(driver.used_idx() == 1);
    CHECK(driver.read_bytes(0x30000, 512) == std::vector<std::uint8_t>(512, 7));
    CHECK(read32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
    CHECK(line.pulses() == 1);
    // 8-byte config read of capacity.
    std::uint8_t eight[8];
    transport.read(VIRTIO_MMIO_CONFIG, eight);
    std::uint64_t capacity;
    std::memcpy(&capacity, eight, 8);
    CHECK(capacity == kDiskSize / 512);
}

namespace {

// A hostile driver, driven from inside the device: every admit() makes chain `head` available
// again while the device is still working on its queue, as a guest on another vCPU can (the way
// a harness kept one notification running for 1,000,000 requests). Stops after `limit` times so
// that a device without a pass budget ends the test instead of hanging it.
class RepublishingGate final : public RequestGate {
public:
    RepublishingGate(FakeVirtioDriver& driver, std::uint16_t head, unsigned limit)
        : m_driver(driver), m_head(head), limit(limit)
    {
    }
    bool admit(std::uint16_t, std::uint64_t) override
    {
        ++admitted;
        if (republished < limit) {
            m_driver.publish(m_head);
            ++republished;
        }
        return true;
    }

private:
    FakeVirtioDriver& m_driver;
    std::uint16_t m_head;

public:
    unsigned limit;
    unsigned admitted = 0;
    unsigned republished = 0;
};

constexpr unsigned kHostileRepublishes = 100'000;
constexpr unsigned kQueueRunnerBudget = QueueRunner::kChainsPerPass;

} // namespace

TEST_CASE("virtio-blk: a driver republishing a chain during processing cannot hold the loop past one pass budget")
{
    const DiskEngine engine = GENERATE(DiskEngine::Sync, DiskEngine::Uring);
    CAPTURE(engine == DiskEngine::Sync ? "sync" : "uring");
    Fixture f({}, engine);
    // GET_ID is answered at once on both engines: nothing is ever in flight, so only the pass
    // budget can end the pass.
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_GET_ID, 0));
    const std::uint16_t head = f.driver.add_chain({{0x20000, 16, Access::DeviceReads},
        {0x30000, VIRTIO_BLK_ID_BYTES, Access::DeviceWrites}, {0x30100, 1, Access::DeviceWrites}});
    auto gate = std::make_shared<RepublishingGate>(f.driver, head, kHostileRepublishes);
    f.blk->set_request_gate(gate);

    f.blk->process_queue(0);
    CHECK(gate->admitted <= kQueueRunnerBudget);
    CHECK(f.driver.used_idx() == gate->admitted);
    // The budget ran out with work left: the device asks to be run again from the event loop
    // instead of waiting for a notification the driver may never send.
    CHECK(f.notifier.reruns == std::vector<std::uint16_t>{0});
    CHECK(f.notifier.used_signals == 1); // what the pass used is announced now, not later

    // The re-runs the loop makes finish everything once the driver stops republishing.
    gate->limit = gate->republished;
    for (int round = 0; round < 10 && f.notifier.reruns.size() > 0; ++round) {
        f.notifier.reruns.clear();
        f.blk->process_queue(0);
    }
    CHECK(f.notifier.reruns.empty());
    CHECK(f.driver.used_idx() == f.driver.avail_idx());
    CHECK(f.status_at(0x30100) == VIRTIO_BLK_S_OK);
    // VIRTIO_F_EVENT_IDX (negotiated here): the pass that found the ring empty re-armed
    // avail_event, so the driver's next chain is notified (virtio-v1.2 §2.7.10).
    CHECK(f.driver.avail_event() == f.driver.avail_idx());
}

TEST_CASE("virtio-blk over virtio-mmio: a pass that ends on its budget asks the transport's hook for a re-run")
{
    testing::TempDiskFile disk(kDiskSize);
    auto memory = testing::make_test_memory(1 << 20);
    testing::FakeInterruptLine line;
    DiskSpec spec;
    spec.path = disk.path();
    VirtioMmioTransport transport("blk0", VirtioBlk::create(spec), memory, line);
    std::vector<std::uint16_t> reruns;
    transport.set_queue_rerun([&](std::uint16_t queue) { reruns.push_back(queue); });
    auto write32 = [&](std::uint64_t offset, std::uint32_t value) {
        std::uint8_t bytes[4];
        std::memcpy(bytes, &value, 4);
        transport.write(offset, bytes);
    };
    const std::uint32_t negotiating = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
    write32(VIRTIO_MMIO_STATUS, negotiating);
    FakeVirtioDriver driver(memory, 16);
    write32(VIRTIO_MMIO_QUEUE_SEL, 0);
    write32(VIRTIO_MMIO_QUEUE_NUM, 16);
    write32(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_table()));
    write32(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_ring()));
    write32(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_ring()));
    write32(VIRTIO_MMIO_QUEUE_READY, 1);
    write32(VIRTIO_MMIO_STATUS, negotiating | VIRTIO_CONFIG_S_DRIVER_OK);
    driver.write_bytes(0x20000, header(VIRTIO_BLK_T_GET_ID, 0));
    const std::uint16_t head = driver.add_chain({{0x20000, 16, Access::DeviceReads},
        {0x30000, VIRTIO_BLK_ID_BYTES, Access::DeviceWrites}, {0x30100, 1, Access::DeviceWrites}});
    auto gate = std::make_shared<RepublishingGate>(driver, head, kHostileRepublishes);
    transport.with_device([&](VirtioDevice& device) { static_cast<VirtioBlk&>(device).set_request_gate(gate); });

    transport.notify(0);
    CHECK(gate->admitted == kQueueRunnerBudget);
    CHECK(reruns == std::vector<std::uint16_t>{0});
    // What the loop does when the hook fires: notify again; a reset device ignores it.
    write32(VIRTIO_MMIO_STATUS, 0);
    transport.notify(0);
    CHECK(gate->admitted == kQueueRunnerBudget);
}

namespace {

class RecordingGate final : public RequestGate {
public:
    bool admit(std::uint16_t, std::uint64_t bytes) override
    {
        asked.push_back(bytes);
        return true;
    }
    std::vector<std::uint64_t> asked;
};

std::vector<std::uint8_t> zeroing_segments(std::initializer_list<std::pair<std::uint64_t, std::uint32_t>> ranges)
{
    std::vector<std::uint8_t> bytes;
    for (const auto& [sector, count] : ranges) {
        virtio_blk_discard_write_zeroes value{};
        value.sector = sector;
        value.num_sectors = count;
        const auto* raw = reinterpret_cast<const std::uint8_t*>(&value);
        bytes.insert(bytes.end(), raw, raw + sizeof value);
    }
    return bytes;
}

} // namespace

TEST_CASE("virtio-blk: the I/O limiter is charged the sectors a DISCARD or WRITE_ZEROES covers, not its segment bytes")
{
    const DiskEngine engine = GENERATE(DiskEngine::Sync, DiskEngine::Uring);
    CAPTURE(engine == DiskEngine::Sync ? "sync" : "uring");
    Fixture f({}, engine);
    auto gate = std::make_shared<RecordingGate>();
    f.blk->set_request_gate(gate);
    // Two segments in one 32-byte payload: 2 + 6 sectors to zero.
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_WRITE_ZEROES, 0));
    f.driver.write_bytes(0x20100, zeroing_segments({{4, 2}, {10, 6}}));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x20100, 32, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x21000, header(VIRTIO_BLK_T_DISCARD, 0));
    f.driver.write_bytes(0x21100, zeroing_segments({{20, 16}}));
    f.driver.add_chain({{0x21000, 16, Access::DeviceReads}, {0x21100, 16, Access::DeviceReads},
        {0x30010, 1, Access::DeviceWrites}});
    // A read is charged its data and header as before.
    f.driver.write_bytes(0x22000, header(VIRTIO_BLK_T_IN, 1));
    f.driver.add_chain({{0x22000, 16, Access::DeviceReads}, {0x32000, 513, Access::DeviceWrites}});
    f.driver_expected = 3;
    f.run();
    CHECK(gate->asked == std::vector<std::uint64_t>{8 * 512, 16 * 512, 16 + 513});
    REQUIRE(f.driver.used_idx() == 3);
    CHECK(f.status_at(0x30000) == VIRTIO_BLK_S_OK);
    CHECK(f.status_at(0x30010) == VIRTIO_BLK_S_OK);
    CHECK(f.disk.read(4 * 512, 2 * 512) == std::vector<std::uint8_t>(2 * 512, 0));
    CHECK(f.disk.read(6 * 512, 1)[0] == 6);
    CHECK(f.disk.read(10 * 512, 6 * 512) == std::vector<std::uint8_t>(6 * 512, 0));
    CHECK(f.disk.read(20 * 512, 16 * 512) == std::vector<std::uint8_t>(16 * 512, 0));
    CHECK(f.disk.read(36 * 512, 1)[0] == 36);
}
