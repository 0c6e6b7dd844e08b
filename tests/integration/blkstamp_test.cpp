// The `blkstamp` test guest on /dev/kvm: its sequence-stamped writes in pseudo-random block
// order land in the host image exactly as tests/support/stamped_disk.hpp replays them, so the
// single-instant checker that online-backup tests rely on agrees with the real guest.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/stamped_disk.hpp"

using namespace minivmm::testing;

namespace {

// A fresh all-zero (sparse) image of `size` bytes.
std::string make_zero_image(const TempDir& dir, std::uint64_t size)
{
    const std::string path = dir.file("disk.img");
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
    return path;
}

} // namespace

TEST_CASE("blkstamp guest: 300 stamped writes leave the disk the checker replays, cut 300", "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = make_zero_image(dir, 1 << 20);
    auto result = run_vmm({"--kernel", testguest("blkstamp"), "--cmdline",
        "blkstamp.bs=4096 blkstamp.blocks=200 blkstamp.seed=5 blkstamp.count=300 blkstamp.every=100", "--disk",
        "path=" + image});
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, "blkstamp: bs=4096 blocks=200 seed=5 count=300 capacity=2048"));
    CHECK(has_line(result.out, "blkstamp: start"));
    CHECK(has_line(result.out, "blkstamp: wrote 100"));
    CHECK(has_line(result.out, "blkstamp: wrote 300"));
    CHECK(has_line(result.out, "blkstamp: done 300 writes"));

    const auto check = check_stamped_image(read_whole_file(image), StampLayout{4096, 200, 5});
    INFO(check.problem);
    CHECK(check.consistent);
    CHECK(check.cut == 300);
    CHECK(check.stamped_blocks > 100); // 300 writes over 200 blocks touch most of them
}

TEST_CASE("blkstamp guest: without a count it writes until stopped, and the disk is still one instant",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = make_zero_image(dir, 1 << 20);
    BackgroundProcess vmm({minivmm_binary(), "run", "--kernel", testguest("blkstamp"), "--cmdline",
        "blkstamp.blocks=64 blkstamp.every=50", "--disk", "path=" + image});
    auto marker = vmm.wait_for_line("blkstamp: wrote 200", std::chrono::seconds(60));
    INFO("stdout: " << vmm.out());
    REQUIRE(marker.has_value());
    const auto result = vmm.stop(SIGTERM);
    CHECK_FALSE(result.timed_out);
    const auto check = check_stamped_image(read_whole_file(image), StampLayout{4096, 64, 1});
    INFO(check.problem);
    CHECK(check.consistent);
    CHECK(check.cut >= 200);
}
