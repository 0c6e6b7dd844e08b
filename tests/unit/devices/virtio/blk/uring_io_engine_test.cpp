// Tests for UringIoEngine's wake-up contract with a real io_uring (io_engine.hpp, reap()): the
// event loop watches event_fd() and calls reap() when it is readable; the device also calls
// reap() right after commit(). No completion may be left in the ring with event_fd() not
// readable (a lost wake-up: the request would hang until an unrelated one completes), and a
// readable event_fd() with nothing left to hand out must be cleared by one reap() (else the
// level-triggered loop spins).
#include <catch2/catch.hpp>

#include <poll.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "devices/virtio/blk/uring_io_engine.hpp"
#include "tests/support/temp_disk_file.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

namespace {

constexpr std::uint64_t kDiskSize = 64 * 4096;

bool readable(int fd, int timeout_ms)
{
    pollfd ready{fd, POLLIN, 0};
    return ::poll(&ready, 1, timeout_ms) == 1;
}

// A 4 KiB read of block `block` into guest memory at `address`.
BlkIo read_request(const GuestMemory& memory, std::uint16_t head, std::uint64_t block, std::uint64_t address)
{
    auto bytes = memory.slice(address, 4096);
    REQUIRE(bytes.has_value());
    return {BlkIo::Op::Read, head, block * 4096, {{bytes->data(), bytes->size()}}, 0, 4096};
}

// What the event loop does with the engine: wait for event_fd() (a 5 s deadline stands for
// "forever") and reap, until `count` completions are out. Returns them in arrival order.
std::vector<BlkCompletion> loop_until(UringIoEngine& engine, std::vector<BlkCompletion> done, std::size_t count)
{
    while (done.size() < count) {
        INFO(done.size() << " of " << count << " completions handed out, " << engine.in_flight() << " in flight");
        REQUIRE(readable(engine.event_fd(), 5000)); // else a completion lost its wake-up
        for (auto& completion : engine.reap())
            done.push_back(std::move(completion));
    }
    return done;
}

// A readable event_fd() with nothing to hand out must be answered by a single empty reap().
void require_loop_settles(UringIoEngine& engine)
{
    if (readable(engine.event_fd(), 0))
        CHECK(engine.reap().empty()); // the signal of a completion an earlier look collected
    CHECK_FALSE(readable(engine.event_fd(), 0));
}

} // namespace

TEST_CASE("UringIoEngine: every completion wakes the event loop, whichever look collects it")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    const auto image = DiskImage::open(spec);
    auto memory = testing::make_test_memory(1 << 20);
    UringIoEngine engine(image, 8);

    // Rounds of reads (page-cache hits: usually finished within the submit call, so the look
    // after commit() collects them) and flushes (run by io_uring's workers: they finish later,
    // on another thread, at any point of what follows), like a driver's batches.
    for (int round = 0; round < 1000; ++round) {
        CAPTURE(round);
        const std::size_t batch = 1 + round % 8;
        for (std::size_t i = 0; i < batch; ++i) {
            const auto head = static_cast<std::uint16_t>(i);
            if ((round + i) % 3 == 0)
                engine.submit({BlkIo::Op::Flush, head, 0, {}, 0, 1});
            else
                engine.submit(read_request(memory, head, (round * 8 + i) % 64, 0x10000 + i * 4096));
        }
        engine.commit();
        const auto done = loop_until(engine, engine.reap(), batch);
        for (const auto& completion : done)
            REQUIRE(completion.result == 0);
        CHECK(engine.in_flight() == 0);
        require_loop_settles(engine);
    }
    // And the reads land: block 5 holds sectors 40..47.
    engine.submit(read_request(memory, 0, 5, 0x30000));
    engine.commit();
    REQUIRE(loop_until(engine, engine.reap(), 1).at(0).result == 0);
    CHECK(memory.slice(0x30000, 4096)->front() == 40);
    CHECK(memory.slice(0x30000, 4096)->back() == 47);
}

TEST_CASE("UringIoEngine: a completion that lands after the look following commit() is reaped on its wake-up")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    const auto image = DiskImage::open(spec);
    auto memory = testing::make_test_memory(1 << 20);
    UringIoEngine engine(image, 4);

    engine.submit({BlkIo::Op::Flush, 7, 0, {}, 0, 1});
    engine.commit();
    std::vector<BlkCompletion> done = engine.reap(); // the speculative look: usually too early
    done = loop_until(engine, std::move(done), 1);
    REQUIRE(done.size() == 1);
    CHECK(done[0].io.head == 7);
    CHECK(done[0].result == 0);
    require_loop_settles(engine);

    // The loop's own reap() between the look and the completion (a wake-up for an earlier
    // request) resets the eventfd first, so the later completion still signals it.
    engine.submit({BlkIo::Op::Flush, 8, 0, {}, 0, 1});
    engine.commit();
    done = engine.reap();
    for (auto& completion : engine.reap())
        done.push_back(std::move(completion));
    done = loop_until(engine, std::move(done), 1);
    CHECK(done[0].io.head == 8);
    require_loop_settles(engine);
}

TEST_CASE("UringIoEngine: the signal of a completion the look after commit() collected costs one empty look")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    const auto image = DiskImage::open(spec);
    auto memory = testing::make_test_memory(1 << 20);
    UringIoEngine engine(image, 4);

    // Wait for the completion without reaping it, then let the look after a commit() take it:
    // it leaves the eventfd signalled, and the loop's next reap() must clear it.
    engine.submit(read_request(memory, 3, 5, 0x20000));
    engine.commit();
    REQUIRE(readable(engine.event_fd(), 5000));
    engine.commit(); // nothing new: e.g. a queue run that found no chain
    const auto done = engine.reap();
    REQUIRE(done.size() == 1);
    CHECK(done[0].io.head == 3);
    CHECK(readable(engine.event_fd(), 0));
    CHECK(engine.reap().empty());
    CHECK_FALSE(readable(engine.event_fd(), 0));
}

TEST_CASE("UringIoEngine: adjacent reads in one batch go to the kernel as one readv, each request gets its bytes")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    const auto image = DiskImage::open(spec);
    auto memory = testing::make_test_memory(1 << 20);
    UringIoEngine engine(image, 16);

    // Blocks 8..15 into scattered guest buffers, in disk order: one run.
    for (std::uint16_t i = 0; i < 8; ++i)
        engine.submit(read_request(memory, i, 8 + i, 0x10000 + (7 - i) * 0x2000));
    engine.commit();
    auto done = loop_until(engine, engine.reap(), 8);
    CHECK(engine.transfer_sqes() == 1);
    for (const auto& completion : done) {
        CAPTURE(completion.io.head);
        CHECK(completion.result == 0);
        const auto bytes = memory.slice(0x10000 + (7 - completion.io.head) * 0x2000, 4096);
        CHECK(bytes->front() == (8 + completion.io.head) * 8);
        CHECK(bytes->back() == (8 + completion.io.head) * 8 + 7);
    }
    require_loop_settles(engine);

    // A gap, a change of direction and a flush each end a run: reads of blocks 0 and 1 (one
    // readv), a write of block 2 (its own), a read of block 5 (a gap), a flush, a read of 6.
    const std::uint64_t before = engine.transfer_sqes();
    engine.submit(read_request(memory, 0, 0, 0x40000));
    engine.submit(read_request(memory, 1, 1, 0x41000));
    BlkIo write = read_request(memory, 2, 2, 0x42000);
    write.op = BlkIo::Op::Write;
    write.used_length = 0;
    REQUIRE(memory.write(0x42000, std::vector<std::uint8_t>(4096, 0xab)));
    engine.submit(std::move(write));
    engine.submit(read_request(memory, 3, 5, 0x43000));
    engine.submit({BlkIo::Op::Flush, 4, 0, {}, 0, 1});
    engine.submit(read_request(memory, 5, 6, 0x44000));
    engine.commit();
    done = loop_until(engine, engine.reap(), 6);
    CHECK(engine.transfer_sqes() - before == 4);
    for (const auto& completion : done)
        CHECK(completion.result == 0);
    CHECK(memory.slice(0x41000, 4096)->front() == 8);
    CHECK(memory.slice(0x43000, 4096)->front() == 40);
    CHECK(memory.slice(0x44000, 4096)->front() == 48);
    CHECK(disk.read(2 * 4096, 4096) == std::vector<std::uint8_t>(4096, 0xab));
}

TEST_CASE("UringIoEngine: in a merged run that fails, only the request that fails by itself fails")
{
    testing::TempDiskFile disk(kDiskSize);
    DiskSpec spec;
    spec.path = disk.path();
    const auto image = DiskImage::open(spec);
    auto memory = testing::make_test_memory(1 << 20);
    UringIoEngine engine(image, 4);

    // Blocks 62, 63 and 64 of a 64-block file: one readv that ends short at the end of the
    // file. (The device never sends a request past the end; the engine must still answer
    // each request for itself.)
    for (std::uint16_t i = 0; i < 3; ++i)
        engine.submit(read_request(memory, i, 62 + i, 0x10000 + i * 0x1000));
    engine.commit();
    const auto done = loop_until(engine, engine.reap(), 3);
    CHECK(engine.transfer_sqes() == 1);
    for (const auto& completion : done) {
        CAPTURE(completion.io.head);
        CHECK(completion.result == (completion.io.head == 2 ? -EIO : 0));
    }
    CHECK(memory.slice(0x10000, 4096)->front() == static_cast<std::uint8_t>(62 * 8));
    CHECK(memory.slice(0x11000, 4096)->back() == static_cast<std::uint8_t>(63 * 8 + 7));
    CHECK(engine.in_flight() == 0);
}
