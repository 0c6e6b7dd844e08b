// Tests for VirtioBlk's online operations (virtio_blk.hpp): resize while the driver runs
// (virtio-v1.2 §5.2.4 capacity, §2.5.1 and §4.2.2 ConfigGeneration, §4.2.3.4 the configuration
// change notification), the WriteInterceptor seam seeing every change before the image does,
// and quiesce_writes().
#include <catch2/catch.hpp>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <sys/stat.h>

#include <cstring>

#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/temp_disk_file.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kDiskSize = 64 * 512;

class CountingNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override { ++used_signals; }
    void report_guest_error(std::string_view) override {}
    void notify_config_change() override { ++config_changes; }
    void schedule_queue_rerun(std::uint16_t) override {} // these tests put in less than one pass
    int used_signals = 0;
    int config_changes = 0;
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

std::uint64_t capacity_of(const VirtioDevice& device)
{
    std::uint8_t bytes[8];
    device.read_config(0, bytes);
    std::uint64_t capacity;
    std::memcpy(&capacity, bytes, 8);
    return capacity;
}

std::uint64_t file_size(const std::string& path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
}

struct Fixture {
    explicit Fixture(DiskAccess access = DiskAccess::ReadWrite)
        : memory(testing::make_test_memory(1 << 20)), disk(kDiskSize), driver(memory, 16)
    {
        DiskSpec spec;
        spec.path = disk.path();
        spec.access = access;
        blk = VirtioBlk::create(spec);
    }
    void activate()
    {
        auto queue = driver.config().activate(memory, blk->device_features());
        REQUIRE(queue.has_value());
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*queue));
        blk->activate({memory, blk->device_features(), std::move(queues), notifier});
    }
    GuestMemory memory;
    testing::TempDiskFile disk;
    FakeVirtioDriver driver;
    CountingNotifier notifier;
    std::unique_ptr<VirtioBlk> blk;
};

// Records each before_write() with the bytes the image held at that moment.
class RecordingInterceptor final : public WriteInterceptor {
public:
    explicit RecordingInterceptor(const testing::TempDiskFile& disk) : m_disk(disk) {}
    struct Call {
        std::uint64_t offset;
        std::uint64_t length;
        std::vector<std::uint8_t> old_bytes;
    };
    void before_write(std::uint64_t offset, std::uint64_t length) override
    {
        calls.push_back({offset, length, m_disk.read(offset, static_cast<std::size_t>(length))});
    }
    std::vector<Call> calls;

private:
    const testing::TempDiskFile& m_disk;
};

std::vector<std::uint8_t> segment(std::uint64_t sector, std::uint32_t count)
{
    virtio_blk_discard_write_zeroes value{};
    value.sector = sector;
    value.num_sectors = count;
    std::vector<std::uint8_t> bytes(sizeof value);
    std::memcpy(bytes.data(), &value, sizeof value);
    return bytes;
}

} // namespace

TEST_CASE("virtio-v1.2 §5.2.4: online resize grows the image, the capacity and tells the transport once")
{
    Fixture f;
    f.activate();
    REQUIRE(f.blk->resize(2 * kDiskSize).has_value());
    CHECK(file_size(f.disk.path()) == 2 * kDiskSize);
    CHECK(capacity_of(*f.blk) == 2 * kDiskSize / 512);
    CHECK(f.notifier.config_changes == 1);
    // The same size again changes nothing and says nothing.
    REQUIRE(f.blk->resize(2 * kDiskSize).has_value());
    CHECK(f.notifier.config_changes == 1);

    // A write to the new last sector works; before the resize it was past the end (§5.2.6.2).
    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_OUT, 2 * kDiskSize / 512 - 1));
    f.driver.write_bytes(0x21000, std::vector<std::uint8_t>(512, 0xcd));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x21000, 512, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    f.blk->process_queue(0);
    CHECK(f.driver.read_bytes(0x30000, 1)[0] == VIRTIO_BLK_S_OK);
    CHECK(f.disk.read(2 * kDiskSize - 512, 512) == std::vector<std::uint8_t>(512, 0xcd));
}

TEST_CASE("online resize refuses a shrink, a size not a multiple of 512 and a read-only disk, changing nothing")
{
    Fixture f;
    f.activate();
    auto shrink = f.blk->resize(kDiskSize - 512);
    REQUIRE_FALSE(shrink.has_value());
    CHECK(shrink.error().find("shrinking a disk while the guest runs is refused") != std::string::npos);
    auto odd = f.blk->resize(kDiskSize + 100);
    REQUIRE_FALSE(odd.has_value());
    CHECK(odd.error().find("not a multiple of 512") != std::string::npos);
    CHECK(file_size(f.disk.path()) == kDiskSize);
    CHECK(capacity_of(*f.blk) == kDiskSize / 512);
    CHECK(f.notifier.config_changes == 0);

    Fixture read_only(DiskAccess::ReadOnly);
    auto refused = read_only.blk->resize(2 * kDiskSize);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().find("read-only") != std::string::npos);
    CHECK(file_size(read_only.disk.path()) == kDiskSize);
}

TEST_CASE("online resize before the driver is ready grows the disk without a notification")
{
    Fixture f; // not activated: no transport to tell, the driver reads capacity at its DRIVER_OK
    REQUIRE(f.blk->resize(2 * kDiskSize).has_value());
    CHECK(capacity_of(*f.blk) == 2 * kDiskSize / 512);
    CHECK(f.notifier.config_changes == 0);
}

TEST_CASE("virtio-v1.2 §4.2.2 / §4.2.3.4: a resize through virtio-mmio bumps ConfigGeneration and sets the "
          "configuration change bit of InterruptStatus")
{
    testing::TempDiskFile disk(kDiskSize);
    auto memory = testing::make_test_memory(1 << 20);
    testing::FakeInterruptLine line;
    DiskSpec spec;
    spec.path = disk.path();
    VirtioMmioTransport transport("blk0", VirtioBlk::create(spec), memory, line);
    auto read32 = [&](std::uint64_t offset) {
        std::uint8_t bytes[4];
        transport.read(offset, bytes);
        std::uint32_t value;
        std::memcpy(&value, bytes, 4);
        return value;
    };
    auto write32 = [&](std::uint64_t offset, std::uint32_t value) {
        std::uint8_t bytes[4];
        std::memcpy(bytes, &value, 4);
        transport.write(offset, bytes);
    };
    FakeVirtioDriver driver(memory, 16);
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    write32(VIRTIO_MMIO_DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    write32(VIRTIO_MMIO_QUEUE_SEL, 0);
    write32(VIRTIO_MMIO_QUEUE_NUM, 16);
    write32(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_table()));
    write32(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_ring()));
    write32(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_ring()));
    write32(VIRTIO_MMIO_QUEUE_READY, 1);
    write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK
            | VIRTIO_CONFIG_S_DRIVER_OK);
    const std::uint32_t generation = read32(VIRTIO_MMIO_CONFIG_GENERATION);
    CHECK(read32(VIRTIO_MMIO_CONFIG) == kDiskSize / 512);

    auto resized = transport.with_device(
        [](VirtioDevice& device) { return static_cast<VirtioBlk&>(device).resize(4 * kDiskSize); });
    REQUIRE(resized.has_value());
    CHECK(read32(VIRTIO_MMIO_CONFIG_GENERATION) == generation + 1);
    CHECK(read32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_CONFIG);
    CHECK(line.pulses() == 1);
    CHECK(read32(VIRTIO_MMIO_CONFIG) == 4 * kDiskSize / 512);
    CHECK(read32(VIRTIO_MMIO_CONFIG + 4) == 0);
    write32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    CHECK(read32(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
}

TEST_CASE("the write interceptor sees every write, write-zeroes and discard range before the image changes, and "
          "nothing else")
{
    Fixture f;
    f.activate();
    RecordingInterceptor interceptor(f.disk);
    f.blk->set_write_interceptor(&interceptor);
    CHECK(f.blk->write_interceptor() == &interceptor);

    f.driver.write_bytes(0x20000, header(VIRTIO_BLK_T_OUT, 3));
    f.driver.write_bytes(0x21000, std::vector<std::uint8_t>(1024, 0xee));
    f.driver.add_chain({{0x20000, 16, Access::DeviceReads}, {0x21000, 1024, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x22000, header(VIRTIO_BLK_T_IN, 3)); // a read: not seen
    f.driver.add_chain({{0x22000, 16, Access::DeviceReads}, {0x23000, 513, Access::DeviceWrites}});
    f.driver.write_bytes(0x24000, header(VIRTIO_BLK_T_OUT, 64)); // past the end: refused, not seen
    f.driver.add_chain({{0x24000, 16, Access::DeviceReads}, {0x21000, 512, Access::DeviceReads},
        {0x30010, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x25000, header(VIRTIO_BLK_T_WRITE_ZEROES, 0));
    f.driver.write_bytes(0x25100, segment(10, 2));
    f.driver.add_chain({{0x25000, 16, Access::DeviceReads}, {0x25100, 16, Access::DeviceReads},
        {0x30020, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x26000, header(VIRTIO_BLK_T_DISCARD, 0));
    f.driver.write_bytes(0x26100, segment(20, 4));
    f.driver.add_chain({{0x26000, 16, Access::DeviceReads}, {0x26100, 16, Access::DeviceReads},
        {0x30030, 1, Access::DeviceWrites}});
    f.driver.write_bytes(0x27000, header(VIRTIO_BLK_T_FLUSH, 0)); // a flush: not seen
    f.driver.add_chain({{0x27000, 16, Access::DeviceReads}, {0x30040, 1, Access::DeviceWrites}});
    f.blk->process_queue(0);
    REQUIRE(f.driver.used_idx() == 6);
    CHECK(f.driver.read_bytes(0x30010, 1)[0] == VIRTIO_BLK_S_IOERR);

    REQUIRE(interceptor.calls.size() == 3);
    CHECK(interceptor.calls[0].offset == 3 * 512);
    CHECK(interceptor.calls[0].length == 1024);
    // The image still held the old sectors 3 and 4 (TempDiskFile: byte = sector number).
    std::vector<std::uint8_t> old(1024, 3);
    std::fill(old.begin() + 512, old.end(), 4);
    CHECK(interceptor.calls[0].old_bytes == old);
    CHECK(interceptor.calls[1].offset == 10 * 512);
    CHECK(interceptor.calls[1].length == 2 * 512);
    CHECK(interceptor.calls[1].old_bytes[0] == 10);
    CHECK(interceptor.calls[1].old_bytes[512] == 11);
    CHECK(interceptor.calls[2].offset == 20 * 512);
    CHECK(interceptor.calls[2].length == 4 * 512);
    CHECK(interceptor.calls[2].old_bytes[0] == 20);

    f.blk->set_write_interceptor(nullptr);
    f.driver.write_bytes(0x28000, header(VIRTIO_BLK_T_OUT, 5));
    f.driver.add_chain({{0x28000, 16, Access::DeviceReads}, {0x21000, 512, Access::DeviceReads},
        {0x30050, 1, Access::DeviceWrites}});
    f.blk->process_queue(0);
    CHECK(interceptor.calls.size() == 3);
}

TEST_CASE("quiesce_writes completes every request in flight in the io_uring engine to the guest")
{
    testing::TempDiskFile disk(kDiskSize);
    auto memory = testing::make_test_memory(1 << 20);
    FakeVirtioDriver driver(memory, 16);
    CountingNotifier notifier;
    DiskSpec spec;
    spec.path = disk.path();
    spec.engine = DiskEngine::Uring;
    auto blk = VirtioBlk::create(spec);
    auto queue = driver.config().activate(memory, blk->device_features());
    REQUIRE(queue.has_value());
    std::vector<std::optional<VirtQueue>> queues;
    queues.emplace_back(std::move(*queue));
    blk->activate({memory, blk->device_features(), std::move(queues), notifier});
    for (std::uint64_t i = 0; i < 4; ++i) {
        driver.write_bytes(0x20000 + i * 0x1000, header(VIRTIO_BLK_T_OUT, 8 + i));
        driver.add_chain({{0x20000 + i * 0x1000, 16, Access::DeviceReads}, {0x40000, 512, Access::DeviceReads},
            {0x30000 + i, 1, Access::DeviceWrites}});
    }
    driver.write_bytes(0x40000, std::vector<std::uint8_t>(512, 0x99));
    blk->process_queue(0); // submitted; completions arrive on the engine's eventfd
    REQUIRE(blk->quiesce_writes());
    CHECK(driver.used_idx() == 4);
    for (std::uint64_t i = 0; i < 4; ++i) {
        CHECK(driver.read_bytes(0x30000 + i, 1)[0] == VIRTIO_BLK_S_OK);
        CHECK(disk.read((8 + i) * 512, 512) == std::vector<std::uint8_t>(512, 0x99));
    }
}
