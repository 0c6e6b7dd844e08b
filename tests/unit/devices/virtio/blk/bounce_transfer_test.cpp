// Tests for BounceTransfer and the direct=on path around it: virtio-v1.2 §2.7.4.1 (Message
// Framing) lets a driver split a request at any byte and §5.2.5 (Device Initialization) keeps
// 512-byte requests legal whatever blk_size says, while O_DIRECT on the host wants whole logical
// blocks from aligned buffers. The host disk is a loop device with 4096-byte blocks, so even a
// sector-aligned 512-byte request is too small for O_DIRECT there.
#include <catch2/catch.hpp>

#include <linux/virtio_blk.h>

#include <poll.h>

#include <cstddef>
#include <cstring>

#include "devices/virtio/blk/bounce_transfer.hpp"
#include "devices/virtio/blk/sync_io_engine.hpp"
#include "devices/virtio/blk/uring_io_engine.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/loop_device.hpp"
#include "tests/support/temp_disk_file.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kDiskSize = 16 * 4096; // sector i holds the byte i & 0xff

class NullNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override {}
    void report_guest_error(std::string_view) override { ++guest_errors; }
    void schedule_queue_rerun(std::uint16_t) override {} // two chains: far below the per-pass budget
    void notify_config_change() override {} // no online resize here
    int guest_errors = 0;
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

std::vector<std::uint8_t> pattern(std::size_t length, std::uint8_t seed)
{
    std::vector<std::uint8_t> bytes(length);
    for (std::size_t i = 0; i < length; ++i)
        bytes[i] = static_cast<std::uint8_t>(seed + i * 7);
    return bytes;
}

// `first` followed by the first `count` bytes of `second`.
std::vector<std::uint8_t> concat(std::vector<std::uint8_t> first, const std::vector<std::uint8_t>& second, std::size_t count)
{
    const std::size_t at = first.size();
    first.resize(at + count);
    std::memcpy(first.data() + at, second.data(), count);
    return first;
}

// A direct=on VirtioBlk over `path`, activated on a 16-entry queue the fake driver fills.
struct DirectBlk {
    DirectBlk(const std::string& path, DiskEngine engine) : memory(testing::make_test_memory(1 << 20)), driver(memory, 16)
    {
        DiskSpec spec;
        spec.path = path;
        spec.cache = DiskCache::Direct;
        spec.engine = engine;
        blk = VirtioBlk::create(spec);
        auto queue = driver.config().activate(memory, blk->device_features());
        REQUIRE(queue.has_value());
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*queue));
        blk->activate({memory, blk->device_features(), std::move(queues), notifier});
    }
    // Runs the queue until `expected` chains are used (the uring engine completes on its eventfd).
    void run(std::uint16_t expected)
    {
        blk->process_queue(0);
        for (int fd : blk->event_fds()) {
            for (int round = 0; round < 100 && driver.used_idx() != expected; ++round) {
                pollfd ready{fd, POLLIN, 0};
                if (::poll(&ready, 1, 5000) <= 0)
                    break;
                blk->handle_event(fd);
            }
        }
    }
    std::uint8_t status_at(std::uint64_t address) { return driver.read_bytes(address, 1)[0]; }
    std::uint32_t config_u32(std::size_t offset)
    {
        std::uint8_t bytes[4];
        blk->read_config(offset, bytes);
        std::uint32_t value;
        std::memcpy(&value, bytes, 4);
        return value;
    }

    GuestMemory memory;
    FakeVirtioDriver driver;
    NullNotifier notifier;
    std::unique_ptr<VirtioBlk> blk;
};

} // namespace

TEST_CASE("virtio-v1.2 §2.7.4.1: direct=on on a 4096-byte-block disk serves sub-sector split reads and writes")
{
    for (auto engine : {DiskEngine::Sync, DiskEngine::Uring}) {
        CAPTURE(engine == DiskEngine::Sync ? "sync" : "uring");
        testing::TempDiskFile disk(kDiskSize);
        auto loop = testing::require_4k_loop_device(disk.path());
        if (!loop)
            return;
        DirectBlk f(loop->path(), engine);

        // Write sector 3 (inside the first 4096-byte block): the header shares a descriptor with
        // the first 100 data bytes, the other 412 sit at an odd address.
        const auto data = pattern(512, 0x40);
        f.driver.write_bytes(0x20000, concat(header(VIRTIO_BLK_T_OUT, 3), data, 100));
        f.driver.write_bytes(0x21007, {data.begin() + 100, data.end()});
        f.driver.add_chain({{0x20000, 16 + 100, Access::DeviceReads}, {0x21007, 412, Access::DeviceReads},
            {0x22000, 1, Access::DeviceWrites}});
        // Read sectors 9 and 10 (1024 bytes) as 100 + 924, the status byte sharing the last one.
        f.driver.write_bytes(0x23000, header(VIRTIO_BLK_T_IN, 9));
        f.driver.add_chain({{0x23000, 16, Access::DeviceReads}, {0x30003, 100, Access::DeviceWrites},
            {0x31000, 924 + 1, Access::DeviceWrites}});
        f.run(2);

        REQUIRE(f.driver.used_idx() == 2);
        CHECK(f.status_at(0x22000) == VIRTIO_BLK_S_OK);
        CHECK(f.status_at(0x31000 + 924) == VIRTIO_BLK_S_OK);
        CHECK(f.driver.used_element(1).len == 1024 + 1);
        CHECK(disk.read(3 * 512, 512) == data);
        // Read-modify-write kept the rest of the 4096-byte block.
        CHECK(disk.read(2 * 512, 512) == std::vector<std::uint8_t>(512, 2));
        CHECK(disk.read(4 * 512, 512) == std::vector<std::uint8_t>(512, 4));
        CHECK(f.driver.read_bytes(0x30003, 100) == std::vector<std::uint8_t>(100, 9));
        CHECK(f.driver.read_bytes(0x31000, 412) == std::vector<std::uint8_t>(412, 9));
        CHECK(f.driver.read_bytes(0x31000 + 412, 512) == std::vector<std::uint8_t>(512, 10));
        CHECK(f.notifier.guest_errors == 0);
    }
}

TEST_CASE("virtio-v1.2 §5.2.4: with direct=on, blk_size is the host's logical block size")
{
    testing::TempDiskFile disk(kDiskSize);
    auto loop = testing::require_4k_loop_device(disk.path());
    if (!loop)
        return;
    DirectBlk f(loop->path(), DiskEngine::Sync);
    CHECK(f.blk->device_features() & feature_bit(VIRTIO_BLK_F_BLK_SIZE));
    CHECK(f.config_u32(offsetof(virtio_blk_config, blk_size)) == 4096);
    CHECK(f.blk->image().alignment().offset == 4096);

    // A regular file: what statx(STATX_DIOALIGN) says, or the 4096 fallback; a power of two >= 512.
    DirectBlk file(disk.path(), DiskEngine::Sync);
    const std::uint32_t block = file.config_u32(offsetof(virtio_blk_config, blk_size));
    CHECK(block == file.blk->image().alignment().offset);
    CHECK(block >= 512);
    CHECK((block & (block - 1)) == 0);
}

TEST_CASE("virtio-v1.2 §5.2.6: with direct=on, WRITE_ZEROES of a part of a host block zeroes just that part")
{
    testing::TempDiskFile disk(kDiskSize);
    auto loop = testing::require_4k_loop_device(disk.path());
    if (!loop)
        return;
    DiskSpec spec;
    spec.path = loop->path();
    spec.cache = DiskCache::Direct;
    const auto image = DiskImage::open(spec);
    // fallocate refuses a range that is not block-aligned on a block device, so this is the
    // write-zeroes fallback: aligned buffer, read-modify-write of the block around the range.
    CHECK(image.write_zeroes(5 * 512, 2 * 512, ZeroingMode::KeepAllocated) == 0);
    CHECK(disk.read(5 * 512, 1024) == std::vector<std::uint8_t>(1024, 0));
    CHECK(disk.read(4 * 512, 512) == std::vector<std::uint8_t>(512, 4));
    CHECK(disk.read(7 * 512, 512) == std::vector<std::uint8_t>(512, 7));
}

TEST_CASE("virtio-v1.2 §5.2.6: with direct=on, a WRITE_ZEROES of 2 sectors inside a host block works on both engines")
{
    for (auto engine : {DiskEngine::Sync, DiskEngine::Uring}) {
        CAPTURE(engine == DiskEngine::Sync ? "sync" : "uring");
        testing::TempDiskFile disk(kDiskSize);
        auto loop = testing::require_4k_loop_device(disk.path());
        if (!loop)
            return;
        DirectBlk f(loop->path(), engine);
        virtio_blk_discard_write_zeroes segment{};
        segment.sector = 5;
        segment.num_sectors = 2;
        std::vector<std::uint8_t> payload(sizeof segment);
        std::memcpy(payload.data(), &segment, sizeof segment);
        f.driver.write_bytes(0x20000, concat(header(VIRTIO_BLK_T_WRITE_ZEROES, 0), payload, payload.size()));
        f.driver.add_chain({{0x20000, 16 + sizeof segment, Access::DeviceReads}, {0x22000, 1, Access::DeviceWrites}});
        f.run(1);
        REQUIRE(f.driver.used_idx() == 1);
        CHECK(f.status_at(0x22000) == VIRTIO_BLK_S_OK);
        CHECK(disk.read(5 * 512, 1024) == std::vector<std::uint8_t>(1024, 0));
        CHECK(disk.read(4 * 512, 512) == std::vector<std::uint8_t>(512, 4));
        CHECK(disk.read(7 * 512, 512) == std::vector<std::uint8_t>(512, 7));
    }
}

TEST_CASE("BounceTransfer: aligned direct=on transfers go straight to the disk, only misaligned ones are bounced")
{
    for (auto engine_kind : {DiskEngine::Sync, DiskEngine::Uring}) {
        CAPTURE(engine_kind == DiskEngine::Sync ? "sync" : "uring");
        testing::TempDiskFile disk(kDiskSize);
        auto loop = testing::require_4k_loop_device(disk.path());
        if (!loop)
            return;
        DiskSpec spec;
        spec.path = loop->path();
        spec.cache = DiskCache::Direct;
        const auto image = DiskImage::open(spec);
        auto memory = testing::make_test_memory(1 << 20);
        std::unique_ptr<IoEngine> engine;
        const BounceTransfer* bounce = nullptr;
        if (engine_kind == DiskEngine::Sync) {
            auto sync = std::make_unique<SyncIoEngine>(image);
            bounce = &sync->bounce();
            engine = std::move(sync);
        } else {
            auto uring = std::make_unique<UringIoEngine>(image, 4);
            bounce = &uring->bounce();
            engine = std::move(uring);
        }
        auto transfer = [&](BlkIo::Op op, std::uint64_t offset, std::vector<GuestRange> ranges) {
            BlkIo io{op, 0, offset, {}, 0, 0};
            for (const auto& range : ranges) {
                auto bytes = memory.slice(range.address, range.length);
                REQUIRE(bytes.has_value());
                io.iov.push_back({bytes->data(), bytes->size()});
            }
            io.guest_ranges = std::move(ranges);
            io.memory = &memory;
            engine->submit(std::move(io));
            engine->commit();
            std::vector<BlkCompletion> done = engine->reap();
            for (int round = 0; round < 100 && done.empty(); ++round) {
                pollfd ready{engine->event_fd(), POLLIN, 0};
                REQUIRE(::poll(&ready, 1, 5000) == 1);
                done = engine->reap();
            }
            REQUIRE(done.size() == 1);
            return done[0].result;
        };

        // Whole 4096-byte blocks from page-aligned guest buffers: the zero-copy path.
        CHECK(transfer(BlkIo::Op::Read, 4096, {{0x10000, 4096}}) == 0);
        CHECK(memory.slice(0x10000, 4096)->front() == 8);
        CHECK(memory.slice(0x10000, 4096)->back() == 15);
        const auto data = pattern(8192, 1);
        REQUIRE(memory.write(0x20000, data));
        CHECK(transfer(BlkIo::Op::Write, 8192, {{0x20000, 4096}, {0x22000, 4096}}) == 0);
        CHECK(bounce->count() == 0);
        CHECK(disk.read(8192, 4096) == std::vector<std::uint8_t>(data.begin(), data.begin() + 4096));

        // The same blocks split at a sub-sector boundary: bounced, same bytes.
        CHECK(transfer(BlkIo::Op::Read, 8192, {{0x30000, 100}, {0x31001, 4096 - 100}}) == 0);
        CHECK(bounce->count() == 1);
        auto first = memory.slice(0x30000, 100);
        auto rest = memory.slice(0x31001, 4096 - 100);
        CHECK(std::equal(first->begin(), first->end(), data.begin()));
        CHECK(std::equal(rest->begin(), rest->end(), data.begin() + 100));
    }
}
