// Online resize and online backup through the control API on /dev/kvm (README.md, "API"), with
// the blkstamp test guest writing sequence-stamped blocks all along and the stamped-image
// checker (tests/support/stamped_disk.hpp) judging the backup and the disk: a backup holds the
// disk at one instant between its start and its end; a failed or cancelled one leaves no file
// and the guest's disk intact. Every VM here runs with --seccomp enforce (the default): the backup
// works on its own confined thread, and a forbidden call would end the VM with exit 122.
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/stamped_disk.hpp"
#include "tests/support/unix_http.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

constexpr auto kBootTimeout = 30s;
constexpr std::uint32_t kBlocks = 1024; // 4 MiB of 4 KiB blocks
constexpr std::uint32_t kEvery = 20;    // a `wrote` line every 20 writes
constexpr int kCtlErrorAnswer = 1;

ProcessResult ctl(const std::string& socket, std::vector<std::string> verb, std::chrono::seconds timeout = 60s)
{
    std::vector<std::string> argv {minivmm_binary(), "ctl", socket};
    argv.insert(argv.end(), verb.begin(), verb.end());
    ProcessOptions options;
    options.timeout = timeout;
    ProcessResult result = run_process(argv, options);
    INFO("ctl stdout: " << result.out << "\nctl stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    return result;
}

// The highest n of the `blkstamp: wrote n` lines so far.
std::uint64_t last_wrote(const BackgroundProcess& vmm)
{
    std::uint64_t last = 0;
    for (const auto& line : vmm.lines())
        if (line.text.rfind("blkstamp: wrote ", 0) == 0)
            last = std::max<std::uint64_t>(last, std::stoull(line.text.substr(16)));
    return last;
}

// blkstamp writing without end on a fresh sparse 8 MiB disk, with the API on.
struct StampingVm {
    TempDir dir;
    std::string disk = dir.file("disk.img");
    std::string socket = dir.file("api.sock");
    std::unique_ptr<BackgroundProcess> vmm;

    explicit StampingVm(std::vector<std::string> extra = {})
    {
        std::ofstream {disk}.flush();
        std::filesystem::resize_file(disk, 8 << 20);
        std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", testguest("blkstamp"), "--memory", "64M",
            "--disk", "path=" + disk, "--api-socket", socket, "--cmdline",
            "blkstamp.blocks=" + std::to_string(kBlocks) + " blkstamp.every=" + std::to_string(kEvery)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        vmm = std::make_unique<BackgroundProcess>(argv);
        const auto started = vmm->wait_for_line("blkstamp: start", kBootTimeout);
        INFO("stdout: " << vmm->out() << "\nstderr: " << vmm->err());
        REQUIRE(started);
    }
    // Waits until the guest has reported `writes` more writes than now.
    std::uint64_t wait_for_writes(std::uint64_t writes)
    {
        const std::uint64_t target = last_wrote(*vmm) + writes;
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (last_wrote(*vmm) < target && std::chrono::steady_clock::now() < deadline)
            vmm->read_for(50ms);
        REQUIRE(last_wrote(*vmm) >= target);
        return last_wrote(*vmm);
    }
    // Stops the VM through the API and checks the guest's disk as the last write left it.
    void stop_and_check_disk()
    {
        REQUIRE(ctl(socket, {"stop"}).exit_status == 0);
        const ProcessResult end = vmm->wait(30s);
        CHECK(end.exit_status == 123); // stopped through the API
        const auto final_disk = check_stamped_image(read_whole_file(disk), StampLayout {4096, kBlocks, 1});
        INFO("final disk: " << final_disk.problem);
        CHECK(final_disk.consistent);
        CHECK(final_disk.cut >= last_wrote(*vmm));
    }
};

} // namespace

TEST_CASE("api: an online resize is seen by the guest at once: capacity and the configuration-change bit", "[api][resize]")
{
    if (!kvm_available())
        return;
    StampingVm vm;
    const ProcessResult grown = ctl(vm.socket, {"disk-resize", "blk0", "16M"});
    CHECK(grown.exit_status == 0);
    // virtio-v1.2 §4.2.2: InterruptStatus bit 1 (configuration change) and a new ConfigGeneration,
    // as the guest reads them after its next write; capacity in 512-byte sectors.
    CHECK(vm.vmm->wait_for_line("blkstamp: config change interrupt=1 generation 1 capacity 32768 sectors", 30s));
    CHECK(std::filesystem::file_size(vm.disk) == 16u << 20);
    const Json info = Json::parse(http_call(vm.socket, "GET", "/v1/vm")->body);
    CHECK(info["devices"][0]["capacity"] == 16 << 20);

    const ProcessResult shrunk = ctl(vm.socket, {"disk-resize", "blk0", "4M"});
    CHECK(shrunk.exit_status == kCtlErrorAnswer);
    CHECK(shrunk.err.find("shrinking") != std::string::npos);
    CHECK(shrunk.err.find("(HTTP 400)") != std::string::npos);
    CHECK(ctl(vm.socket, {"disk-resize", "nope", "32M"}).exit_status == kCtlErrorAnswer);
    CHECK(std::filesystem::file_size(vm.disk) == 16u << 20);
    vm.stop_and_check_disk();
}

TEST_CASE("api: an online backup of a disk the guest keeps writing holds one instant of it", "[api][backup]")
{
    if (!kvm_available())
        return;
    StampingVm vm;
    const std::uint64_t before = vm.wait_for_writes(2 * kEvery);
    const std::string backup = vm.dir.file("backup.img");
    // Bandwidth-limited, so the guest writes for seconds while the copy runs; ctl waits until the
    // copy is complete and verified.
    const ProcessResult done = ctl(vm.socket, {"disk-backup", "blk0", backup, "--bandwidth", "2M"});
    REQUIRE(done.exit_status == 0);
    vm.vmm->read_for(100ms);
    const std::uint64_t after = last_wrote(*vm.vmm);
    const Json progress = Json::parse(done.out);
    CHECK(progress["state"] == "completed");
    CHECK(progress["guest_writes_intercepted"].get<std::uint64_t>() > 0);
    CHECK(after > before); // the guest did write during the backup

    const auto check = check_stamped_image(read_whole_file(backup), StampLayout {4096, kBlocks, 1});
    INFO("backup: " << check.problem << " cut " << check.cut << " between " << before << " and " << after + kEvery);
    CHECK(check.consistent);
    CHECK(check.cut >= before);
    CHECK(check.cut <= after + kEvery);
    // A second backup to the same path is refused: a backup never overwrites.
    CHECK(ctl(vm.socket, {"disk-backup", "blk0", backup}).exit_status == kCtlErrorAnswer);
    vm.stop_and_check_disk();
}

TEST_CASE("api: a backup to a full file system fails cleanly, and a cancelled one leaves nothing", "[api][backup]")
{
    if (!kvm_available())
        return;
    StampingVm vm;
    (void)vm.wait_for_writes(2 * kEvery);

    SECTION("full: a 1 MiB tmpfs cannot hold the disk's 4 MiB of data")
    {
        const std::string full = vm.dir.file("full");
        std::filesystem::create_directory(full);
        if (::mount("tmpfs", full.c_str(), "tmpfs", 0, "size=1m") != 0) {
            if (running_in_ci())
                FAIL("cannot mount a tmpfs (needs root) and CI=true");
            WARN("cannot mount a tmpfs (needs root): skipping the full-file-system case");
            vm.stop_and_check_disk();
            return;
        }
        struct Unmount {
            std::string path;
            ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
        } unmount {full};
        // Random 4 KiB writes over 4 MiB touch many of the backup's 64 KiB copy blocks: more than 1 MiB.
        (void)vm.wait_for_writes(kEvery * 4);
        const ProcessResult failed = ctl(vm.socket, {"disk-backup", "blk0", full + "/backup.img"});
        CHECK(failed.exit_status == kCtlErrorAnswer);
        CHECK(failed.err.find("No space left on device") != std::string::npos);
        CHECK(std::filesystem::is_empty(full));
        const std::uint64_t at_failure = last_wrote(*vm.vmm);
        CHECK(vm.wait_for_writes(kEvery) > at_failure); // the guest carries on writing
        vm.stop_and_check_disk();
    }
    SECTION("cancelled: DELETE ends it, the partial file is gone")
    {
        const std::string backup = vm.dir.file("cancelled.img");
        const ProcessResult started = ctl(vm.socket, {"disk-backup", "blk0", backup, "--bandwidth", "64K", "--no-wait"});
        REQUIRE(started.exit_status == 0);
        CHECK(Json::parse(started.out)["state"] == "running");
        const auto cancelled = http_call(vm.socket, "DELETE", "/v1/disks/blk0/backup");
        REQUIRE(cancelled);
        CHECK(cancelled->status == 200);
        CHECK(Json::parse(cancelled->body)["state"] == "cancelled");
        CHECK_FALSE(std::filesystem::exists(backup));
        for (const auto& entry : std::filesystem::directory_iterator(vm.dir.path()))
            CHECK(entry.path().filename().string().find("partial") == std::string::npos);
        CHECK(Json::parse(http_call(vm.socket, "GET", "/v1/disks/blk0/backup")->body)["state"] == "cancelled");
        vm.stop_and_check_disk();
    }
}

TEST_CASE("api: under --seccomp enforce one backup runs at a time on the VM's confined backup thread, which serves "
          "backup after backup",
    "[api][backup]")
{
    if (!kvm_available())
        return;
    TempDir second_dir;
    const std::string second = second_dir.file("second.img");
    std::string pattern(1 << 20, '\0');
    for (std::size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<char>(i * 7 + 1);
    std::ofstream(second, std::ios::binary) << pattern;
    StampingVm vm({"--disk", "path=" + second}); // default seccomp mode: enforce
    (void)vm.wait_for_writes(kEvery);

    // A slow backup of blk0 holds the backup thread: blk1's waits its turn, refused with 409.
    const std::string slow = vm.dir.file("slow.img");
    REQUIRE(ctl(vm.socket, {"disk-backup", "blk0", slow, "--bandwidth", "64K", "--no-wait"}).exit_status == 0);
    const auto refused = http_call(vm.socket, "POST", "/v1/disks/blk1/backup",
        Json {{"path", vm.dir.file("refused.img")}}.dump());
    REQUIRE(refused);
    CHECK(refused->status == 409);
    CHECK(Json::parse(refused->body)["error"].get<std::string>().find("one backup at a time") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(vm.dir.file("refused.img")));
    const auto cancelled = http_call(vm.socket, "DELETE", "/v1/disks/blk0/backup");
    REQUIRE(cancelled);
    CHECK(Json::parse(cancelled->body)["state"] == "cancelled");

    // Then blk1, then blk0 again: the same thread serves each in turn.
    const std::string copy = vm.dir.file("second-copy.img");
    const ProcessResult second_done = ctl(vm.socket, {"disk-backup", "blk1", copy});
    INFO("minivmm stderr: " << vm.vmm->err());
    REQUIRE(second_done.exit_status == 0);
    CHECK(Json::parse(second_done.out)["state"] == "completed");
    const auto copied = read_whole_file(copy);
    CHECK(std::string(copied.begin(), copied.end()) == pattern);

    const std::uint64_t before = last_wrote(*vm.vmm);
    const std::string backup = vm.dir.file("again.img");
    const ProcessResult done = ctl(vm.socket, {"disk-backup", "blk0", backup, "--bandwidth", "4M"});
    REQUIRE(done.exit_status == 0);
    CHECK(Json::parse(done.out)["state"] == "completed");
    vm.vmm->read_for(100ms);
    const std::uint64_t after = last_wrote(*vm.vmm);
    const auto check = check_stamped_image(read_whole_file(backup), StampLayout {4096, kBlocks, 1});
    INFO("backup: " << check.problem << " cut " << check.cut << " between " << before << " and " << after + kEvery);
    CHECK(check.consistent);
    CHECK(check.cut >= before);
    CHECK(check.cut <= after + kEvery);
    vm.stop_and_check_disk(); // exit 123 (stopped through the API), not 122 (a seccomp violation)
}
