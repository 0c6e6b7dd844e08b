// Tests for OnlineBackup against the real VirtioBlk driven by the fake virtio driver: DEST is
// the disk at the moment start() returned while "guest" writes go on (copy-before-write, old
// data first, each block copied once), sparse, rate-limited, cancellable, and a failing backup
// (a full tmpfs) leaves no file and never harms the guest's disk or its writes.
#include <catch2/catch.hpp>

#include <linux/virtio_blk.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "devices/virtio/blk/virtio_blk.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/stamped_disk.hpp"
#include "tests/support/test_guest_memory.hpp"
#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/backup/online_backup.hpp"
#include "vmm/sandbox/sigsys_handler.hpp"
#include "vmm/sandbox/syscall_filter.hpp"

using namespace minivmm;
using namespace minivmm::backup;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kBlock = OnlineBackup::kBlockSize;

class QuietNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override {}
    void report_guest_error(std::string_view) override {}
    void notify_config_change() override {}
    void schedule_queue_rerun(std::uint16_t) override {} // these tests put in less than one pass
};

// The copier runs as in the VMM: on a worker confined by the backup thread's seccomp filter,
// enforced, so a call outside that allow-list ends this test binary with the violation line
// ("thread backup made a forbidden system call ...", exit 122).
void confine_as_backup_thread()
{
    static const bool handler_installed = [] {
        sandbox::install_sigsys_handler(nullptr);
        return true;
    }();
    (void)handler_installed;
    sandbox::SyscallFilter::build(sandbox::ThreadKind::Backup, sandbox::SeccompMode::Enforce)
        .load_into_current_thread();
}

// A disk of `blocks` 64 KiB blocks; the blocks listed in `data` hold a pattern, the rest are
// holes. One guest queue, the device run on the test's thread (as the event loop would).
struct Disk {
    Disk(testing::TempDir& dir, std::uint64_t blocks, std::vector<std::uint64_t> data,
        DiskEngine engine = DiskEngine::Sync)
        : path(dir.file("disk.img")), memory(testing::make_test_memory(1 << 20)), driver(memory, 16)
    {
        testing::write_at(path, 0, {}); // creates it
        testing::truncate_to(path, blocks * kBlock);
        for (std::uint64_t block : data)
            testing::write_at(path, block * kBlock, testing::pattern(kBlock, static_cast<std::uint8_t>(block + 1)));
        DiskSpec spec;
        spec.path = path;
        spec.engine = engine;
        blk = VirtioBlk::create(spec);
        auto queue = driver.config().activate(memory, blk->device_features());
        REQUIRE(queue.has_value());
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*queue));
        blk->activate({memory, blk->device_features(), std::move(queues), notifier});
        header = driver.allocate(sizeof(virtio_blk_outhdr));
        status = driver.allocate(1);
        buffer = driver.allocate(kBuffer);
    }

    // A guest request (write: `bytes` at `offset`), run to completion like the event loop would.
    std::uint8_t request(std::uint32_t type, std::uint64_t offset, const std::vector<std::uint8_t>& bytes)
    {
        REQUIRE(bytes.size() <= kBuffer);
        virtio_blk_outhdr hdr{};
        hdr.type = type;
        hdr.sector = offset / 512;
        std::vector<std::uint8_t> header_bytes(sizeof hdr);
        std::memcpy(header_bytes.data(), &hdr, sizeof hdr);
        driver.write_bytes(header, header_bytes);
        driver.write_bytes(buffer, bytes);
        driver.write_bytes(status, {0xff});
        driver.add_chain({{header, sizeof hdr, Access::DeviceReads},
            {buffer, static_cast<std::uint32_t>(bytes.size()), Access::DeviceReads},
            {status, 1, Access::DeviceWrites}});
        ++expected_used;
        blk->process_queue(0);
        wait_for_completions();
        return driver.read_bytes(status, 1)[0];
    }
    std::uint8_t write(std::uint64_t offset, const std::vector<std::uint8_t>& bytes)
    {
        return request(VIRTIO_BLK_T_OUT, offset, bytes);
    }
    std::uint8_t write_zeroes(std::uint64_t offset, std::uint64_t length)
    {
        virtio_blk_discard_write_zeroes segment{};
        segment.sector = offset / 512;
        segment.num_sectors = static_cast<std::uint32_t>(length / 512);
        std::vector<std::uint8_t> bytes(sizeof segment);
        std::memcpy(bytes.data(), &segment, sizeof segment);
        return request(VIRTIO_BLK_T_WRITE_ZEROES, 0, bytes);
    }
    void wait_for_completions()
    {
        for (int fd : blk->event_fds()) {
            for (int round = 0; round < 100 && driver.used_idx() != expected_used; ++round) {
                pollfd ready{fd, POLLIN, 0};
                if (::poll(&ready, 1, 5000) <= 0)
                    break;
                blk->handle_event(fd);
            }
        }
    }

    static constexpr std::uint32_t kBuffer = 3 * kBlock;
    // The VM's backup thread, as Vm::run runs it; outlives every backup of the test.
    BackupWorker worker;
    std::jthread worker_thread {[this](std::stop_token stop) {
        confine_as_backup_thread();
        worker.serve(stop);
    }};
    std::string path;
    GuestMemory memory;
    FakeVirtioDriver driver;
    QuietNotifier notifier;
    std::unique_ptr<VirtioBlk> blk;
    std::uint64_t header = 0;
    std::uint64_t status = 0;
    std::uint64_t buffer = 0;
    std::uint16_t expected_used = 0;
};

std::unique_ptr<OnlineBackup> start_backup(Disk& disk, const std::string& dest,
    std::optional<std::uint64_t> bandwidth = std::nullopt)
{
    auto started = OnlineBackup::start(*disk.blk, {dest, bandwidth}, disk.worker);
    INFO((started ? std::string() : started.error()));
    REQUIRE(started.has_value());
    return std::move(*started);
}

BackupProgress wait_ended(OnlineBackup& backup)
{
    const BackupState state = backup.wait_for(std::chrono::seconds(30));
    auto progress = backup.progress();
    INFO("state " << to_string(state) << " error: " << progress.error);
    REQUIRE(state != BackupState::Running);
    return progress;
}

void check_block_accounting(const BackupProgress& progress, std::uint64_t blocks)
{
    // Every block taken exactly once, by exactly one of the three ways.
    CHECK(progress.blocks_copied_before_write + progress.blocks_copied_in_background + progress.blocks_skipped_as_holes
        == blocks);
    CHECK(progress.bytes_copied == progress.bytes_total);
}

// A tmpfs of `size` mounted on a fresh directory (needs root), unmounted at the end.
class SmallTmpfs {
public:
    explicit SmallTmpfs(testing::TempDir& dir, const std::string& size) : m_path(dir.file("small"))
    {
        ::mkdir(m_path.c_str(), 0755);
        m_mounted = ::mount("tmpfs", m_path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    }
    ~SmallTmpfs()
    {
        if (m_mounted)
            ::umount2(m_path.c_str(), MNT_DETACH);
    }
    [[nodiscard]] bool mounted() const { return m_mounted; }
    [[nodiscard]] std::string file(const std::string& name) const { return m_path + "/" + name; }
    [[nodiscard]] std::vector<std::string> names() const
    {
        std::vector<std::string> result;
        for (const auto& entry : std::filesystem::directory_iterator(m_path))
            result.push_back(entry.path().filename().string());
        return result;
    }

private:
    std::string m_path;
    bool m_mounted = false;
};

bool can_mount_tmpfs(const SmallTmpfs& tmpfs)
{
    if (tmpfs.mounted())
        return true;
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true")
        FAIL("cannot mount a tmpfs (needs root), and CI=true: the full-file-system test cannot run");
    WARN("cannot mount a tmpfs (needs root): skipping the full-file-system test");
    return false;
}

} // namespace

TEST_CASE("online backup of an idle disk: DEST equals the disk, holes and zero blocks stay holes, no temp file left")
{
    testing::TempDir dir;
    // Blocks 0-3 and 6 hold data, 4-5 and 7-15 are holes; block 2 holds allocated zeros.
    Disk disk(dir, 16, {0, 1, 3, 6});
    testing::write_at(disk.path, 2 * kBlock, std::vector<std::uint8_t>(kBlock, 0));
    const auto before = testing::read_all(disk.path);

    auto backup = start_backup(disk, dir.file("copy.img"));
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    CHECK(progress.error.empty());
    CHECK(progress.bytes_total == 5 * kBlock); // the data extents, the zero block included
    CHECK(progress.bytes_written == 4 * kBlock);  // the zero block became a hole
    check_block_accounting(progress, 16);
    CHECK(testing::read_all(dir.file("copy.img")) == before);
    CHECK(dir.names() == std::vector<std::string>{"copy.img", "disk.img"});
    // Sparse: only the four pattern blocks are allocated.
    CHECK(std::uint64_t(testing::stat_of(dir.file("copy.img")).st_blocks) * 512 <= 4 * kBlock);
}

TEST_CASE("online backup: a guest write to a block not yet copied copies the old block first, once; the disk gets the new "
          "data")
{
    testing::TempDir dir;
    Disk disk(dir, 8, {0, 1, 2, 3});
    const auto before = testing::read_all(disk.path);
    // 1 byte/s: the copier cannot copy a single data block itself, so every data block is
    // copied by a guest write: deterministic bookkeeping.
    auto backup = start_backup(disk, dir.file("copy.img"), 1);

    const auto new_data = testing::pattern(2 * 512, 0xa0);
    // Spans blocks 0 and 1 (the last sector of 0, the first of 1).
    CHECK(disk.write(kBlock - 512, new_data) == VIRTIO_BLK_S_OK);
    // Block 2 twice: copied by the first write only.
    CHECK(disk.write(2 * kBlock, new_data) == VIRTIO_BLK_S_OK);
    CHECK(disk.write(2 * kBlock + 4096, new_data) == VIRTIO_BLK_S_OK);
    // Block 3 by write-zeroes (a change like any other), block 5 (a hole) by a write.
    CHECK(disk.write_zeroes(3 * kBlock, kBlock) == VIRTIO_BLK_S_OK);
    CHECK(disk.write(5 * kBlock, new_data) == VIRTIO_BLK_S_OK);

    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    CHECK(progress.guest_writes_intercepted == 5);
    CHECK(progress.blocks_copied_before_write == 4); // blocks 0, 1, 2, 3: each once
    CHECK(progress.blocks_copied_in_background == 0);
    CHECK(progress.blocks_skipped_as_holes == 4); // 4..7, block 5 by its write
    check_block_accounting(progress, 8);
    CHECK(testing::read_all(dir.file("copy.img")) == before);

    // The guest's disk holds the new data.
    auto after = before;
    std::copy(new_data.begin(), new_data.end(), after.begin() + kBlock - 512);
    std::copy(new_data.begin(), new_data.end(), after.begin() + 2 * kBlock);
    std::copy(new_data.begin(), new_data.end(), after.begin() + 2 * kBlock + 4096);
    std::fill(after.begin() + 3 * kBlock, after.begin() + 4 * kBlock, 0);
    std::copy(new_data.begin(), new_data.end(), after.begin() + 5 * kBlock);
    CHECK(testing::read_all(disk.path) == after);
}

TEST_CASE("online backup: a write spanning a block the copier already copied and one it did not")
{
    testing::TempDir dir;
    Disk disk(dir, 4, {0, 1});
    const auto before = testing::read_all(disk.path);
    // 64 KiB/s and one-block runs: block 0 after about a second, block 1 a second later.
    auto backup = start_backup(disk, dir.file("copy.img"), kBlock);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (backup->progress().blocks_copied_in_background == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(backup->progress().blocks_copied_in_background >= 1);

    const auto new_data = testing::pattern(4096, 0x33);
    CHECK(disk.write(kBlock - 2048, new_data) == VIRTIO_BLK_S_OK); // last 2 KiB of 0, first 2 KiB of 1
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    check_block_accounting(progress, 4);
    // Block 0 was copied before, so the write copied at most block 1 (unless the copier got
    // there first, when the test thread was slow).
    CHECK(progress.blocks_copied_before_write <= 1);
    CHECK(testing::read_all(dir.file("copy.img")) == before);
}

TEST_CASE("online backup: random guest writes racing the copier; DEST is exactly the disk at the start")
{
    testing::TempDir dir;
    std::vector<std::uint64_t> data;
    for (std::uint64_t block = 0; block < 256; block += 1 + block % 3)
        data.push_back(block);
    Disk disk(dir, 256, data);
    const auto before = testing::read_all(disk.path);
    // 32 MiB/s: about a third of a second, long enough for many writes to race the copier.
    auto backup = start_backup(disk, dir.file("copy.img"), 32 << 20);
    std::mt19937 random(12345);
    int writes = 0;
    while (backup->progress().state == BackupState::Running || writes < 50) {
        const std::uint64_t sector = random() % (256 * kBlock / 512 - 16);
        CHECK(disk.write(sector * 512, testing::pattern(512 * (1 + random() % 16), static_cast<std::uint8_t>(writes)))
            == VIRTIO_BLK_S_OK);
        ++writes;
    }
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    check_block_accounting(progress, 256);
    // Which path copied how much depends on timing (the copier pays for the writes' copies,
    // so busy writers slow it down); what may not depend on it is the result.
    INFO("copied before writes " << progress.blocks_copied_before_write << ", in the background "
                                 << progress.blocks_copied_in_background);
    CHECK(progress.blocks_copied_before_write > 0);
    CHECK(testing::read_all(dir.file("copy.img")) == before);
    CHECK(testing::read_all(disk.path) != before);
}

TEST_CASE("online backup of a disk written in the blkstamp guest's order: DEST is the disk at one instant, the cut "
          "being the writes done before start")
{
    testing::TempDir dir;
    // 8 MiB of 4 KiB blocks: 128 backup blocks. The backup ends once every block is copied,
    // and the random writes alone touch all of them only after about 128 * ln 128 = 620 writes
    // (a coupon collector; 100 is more than three standard deviations below), so the writes
    // below keep racing the backup for a while.
    const testing::StampLayout layout{4096, 2048, 3};
    Disk disk(dir, 128, {});
    testing::StampOrder order(layout);
    std::uint64_t written = 0;
    auto write_next = [&] {
        const std::uint32_t block = order.next();
        ++written;
        REQUIRE(disk.write(std::uint64_t(block) * layout.block_size, testing::stamped_block(layout, written, block))
            == VIRTIO_BLK_S_OK);
    };
    for (int i = 0; i < 300; ++i)
        write_next();
    const std::uint64_t before_start = written;
    // Slow enough (256 KiB/s against megabytes of data blocks) that the copier copies few blocks
    // itself: most are copied before a write.
    auto backup = start_backup(disk, dir.file("copy.img"), 256 * 1024);
    while (backup->progress().state == BackupState::Running)
        write_next();
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    CHECK(written > before_start + 100); // the guest kept writing during the backup
    CHECK(progress.blocks_copied_before_write > 0);

    const auto copy = testing::check_stamped_image(testing::read_whole_file(dir.file("copy.img")), layout);
    INFO(copy.problem);
    CHECK(copy.consistent);
    CHECK(copy.cut == before_start);
    const auto final_disk = testing::check_stamped_image(testing::read_whole_file(disk.path), layout);
    CHECK(final_disk.consistent);
    CHECK(final_disk.cut == written);
}

TEST_CASE("online backup: the bandwidth limit holds (bytes/s through the token bucket, which starts empty)")
{
    testing::TempDir dir;
    Disk disk(dir, 4, {0, 1, 2});
    const auto before = testing::read_all(disk.path);
    auto backup = start_backup(disk, dir.file("copy.img"), 2 * kBlock); // 128 KiB/s
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    // 192 KiB at 128 KiB/s from an empty bucket: at least 1.5 s.
    CHECK(progress.elapsed >= std::chrono::milliseconds(1400));
    CHECK(testing::read_all(dir.file("copy.img")) == before);
}

TEST_CASE("online backup: a write already in flight in the io_uring engine at start is in DEST and completed to the "
          "guest")
{
    testing::TempDir dir;
    Disk disk(dir, 4, {0}, DiskEngine::Uring);
    const auto new_data = testing::pattern(kBlock, 0x77);
    // Submitted, not yet reaped: the guest has not seen it complete.
    virtio_blk_outhdr hdr{};
    hdr.type = VIRTIO_BLK_T_OUT;
    hdr.sector = kBlock / 512;
    std::vector<std::uint8_t> header_bytes(sizeof hdr);
    std::memcpy(header_bytes.data(), &hdr, sizeof hdr);
    disk.driver.write_bytes(disk.header, header_bytes);
    disk.driver.write_bytes(disk.buffer, new_data);
    disk.driver.add_chain({{disk.header, sizeof hdr, Access::DeviceReads},
        {disk.buffer, static_cast<std::uint32_t>(kBlock), Access::DeviceReads}, {disk.status, 1, Access::DeviceWrites}});
    disk.blk->process_queue(0);

    auto backup = start_backup(disk, dir.file("copy.img"));
    CHECK(disk.driver.used_idx() == 1); // start() completed it to the guest
    CHECK(disk.driver.read_bytes(disk.status, 1)[0] == VIRTIO_BLK_S_OK);
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Completed);
    const auto copy = testing::read_all(dir.file("copy.img"));
    CHECK(std::vector<std::uint8_t>(copy.begin() + kBlock, copy.begin() + 2 * kBlock) == new_data);
}

TEST_CASE("online backup: cancel ends it, removes the partial file, and guest writes are no longer intercepted")
{
    testing::TempDir dir;
    Disk disk(dir, 8, {0, 1, 2, 3});
    auto backup = start_backup(disk, dir.file("copy.img"), 1);
    CHECK(dir.names().size() == 2); // disk.img and the temporary file
    backup->cancel();
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Cancelled);
    CHECK(progress.error.empty());
    CHECK(dir.names() == std::vector<std::string>{"disk.img"});
    CHECK(disk.write(0, testing::pattern(512, 1)) == VIRTIO_BLK_S_OK);
    CHECK(backup->progress().guest_writes_intercepted == 0);
    backup->cancel(); // a no-op now
    CHECK(backup->progress().state == BackupState::Cancelled);
    // The destructor removes the interceptor: a new backup can start.
    backup.reset();
    CHECK(disk.blk->write_interceptor() == nullptr);
}

TEST_CASE("online backup to a full file system fails with one clear line, leaves no file, and the guest's disk and "
          "writes are unharmed")
{
    testing::TempDir dir;
    SmallTmpfs tmpfs(dir, "32k");
    if (!can_mount_tmpfs(tmpfs))
        return;
    Disk disk(dir, 16, {0, 1, 2, 3, 4, 5, 6, 7});
    const auto before = testing::read_all(disk.path);
    const auto new_data = testing::pattern(512, 0x42);
    std::unique_ptr<OnlineBackup> backup;
    SECTION("the background copier hits ENOSPC")
    {
        backup = start_backup(disk, tmpfs.file("copy.img"));
    }
    SECTION("a copy-before-write hits ENOSPC")
    {
        backup = start_backup(disk, tmpfs.file("copy.img"), 1);
        CHECK(disk.write(0, new_data) == VIRTIO_BLK_S_OK); // the guest's write still succeeds
    }
    const auto progress = wait_ended(*backup);
    CHECK(progress.state == BackupState::Failed);
    CHECK(progress.error.find("No space left on device") != std::string::npos);
    CHECK(progress.error.find(tmpfs.file("copy.img")) != std::string::npos);
    CHECK(progress.error.find('\n') == std::string::npos);
    CHECK(tmpfs.names().empty());
    // Writes after the failure go straight through.
    const auto intercepted = progress.guest_writes_intercepted;
    CHECK(disk.write(kBlock, new_data) == VIRTIO_BLK_S_OK);
    CHECK(backup->progress().guest_writes_intercepted == intercepted);
    auto after = testing::read_all(disk.path);
    auto expected = before;
    if (intercepted == 1)
        std::copy(new_data.begin(), new_data.end(), expected.begin());
    std::copy(new_data.begin(), new_data.end(), expected.begin() + kBlock);
    CHECK(after == expected);
}

TEST_CASE("online backup: start refuses an existing DEST, a missing directory, bandwidth 0 and a second backup")
{
    testing::TempDir dir;
    Disk disk(dir, 2, {0});
    testing::write_at(dir.file("exists.img"), 0, {1});
    auto existing = OnlineBackup::start(*disk.blk, {dir.file("exists.img"), std::nullopt}, disk.worker);
    REQUIRE_FALSE(existing.has_value());
    CHECK(existing.error().find("already exists") != std::string::npos);
    CHECK(testing::read_all(dir.file("exists.img")) == std::vector<std::uint8_t>{1});

    auto missing = OnlineBackup::start(*disk.blk, {dir.file("no/such/dir/copy.img"), std::nullopt}, disk.worker);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().find("No such file or directory") != std::string::npos);

    auto zero = OnlineBackup::start(*disk.blk, {dir.file("copy.img"), 0}, disk.worker);
    REQUIRE_FALSE(zero.has_value());

    auto first = start_backup(disk, dir.file("copy.img"), 1);
    auto second = OnlineBackup::start(*disk.blk, {dir.file("copy2.img"), std::nullopt}, disk.worker);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().find("already running") != std::string::npos);
    for (const auto& name : dir.names())
        CHECK(name.rfind("copy2", 0) != 0); // the refused backup created nothing
}
