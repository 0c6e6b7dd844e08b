// Snapshot and restore end to end on /dev/kvm (README.md, "Snapshots"; issue "Snapshot and
// restore"): `minivmm ctl SOCKET snapshot DIR` on a running test guest, the VMM killed with
// SIGKILL, `minivmm run --restore DIR` continuing the guest. The memstamp guest checks its own
// memory (every page stamped with a sequence number, each stamp checked before it is rewritten
// and all of them at the end), so a restore that loses or mixes up a page fails inside the guest.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/integration/linux_guest.hpp"
#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/stamped_disk.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

constexpr auto kMarkerTimeout = 60s;
constexpr int kVmmError = 120;

ProcessResult ctl(const std::string& socket, std::vector<std::string> verb)
{
    std::vector<std::string> argv {minivmm_binary(), "ctl", socket};
    argv.insert(argv.end(), verb.begin(), verb.end());
    ProcessOptions options;
    options.timeout = 60s;
    ProcessResult result = run_process(argv, options);
    INFO("ctl stdout: " << result.out << "\nctl stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    return result;
}

Json json_of(const std::string& text)
{
    INFO(text);
    Json json = Json::parse(text, nullptr, false);
    REQUIRE(json.is_object());
    return json;
}

std::string read_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), {}};
}

// CRC32C (RFC 3720 §12.1), bit by bit: the vmstate header's checksum (docs/ARCHITECTURE.md,
// "Snapshots"), recomputed by a test that changes a header field on purpose.
std::uint32_t crc32c(const std::string& bytes)
{
    std::uint32_t crc = ~0u;
    for (unsigned char byte : bytes) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void write_file(const std::string& path, const std::string& bytes)
{
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << bytes;
}

// A VM with the control API, killed with SIGKILL if the test leaves it running.
struct ApiVm {
    std::string socket;
    std::unique_ptr<BackgroundProcess> vmm;

    ApiVm(const TempDir& dir, std::vector<std::string> args) : socket(dir.file("api.sock"))
    {
        std::vector<std::string> argv {minivmm_binary(), "run", "--api-socket", socket};
        argv.insert(argv.end(), args.begin(), args.end());
        vmm = std::make_unique<BackgroundProcess>(argv, /*new_session=*/true);
    }
    void wait_for(const std::string& line)
    {
        const auto found = vmm->wait_for_line(line, kMarkerTimeout);
        INFO("stdout: " << vmm->out() << "\nstderr: " << vmm->err());
        REQUIRE(found);
    }
    // Snapshots to `dir` and returns the answer; fails the test unless it succeeded.
    Json snapshot(const std::string& dir, bool leave_paused = false)
    {
        std::vector<std::string> verb {"snapshot", dir};
        if (leave_paused)
            verb.push_back("--leave-paused");
        const ProcessResult answer = ctl(socket, verb);
        INFO("vmm stderr: " << vmm->err());
        REQUIRE(answer.exit_status == 0);
        return json_of(answer.out);
    }
    void kill()
    {
        const ProcessResult end = vmm->stop(SIGKILL);
        CHECK(end.signal == SIGKILL);
    }
};

// The sequence numbers memstamp printed ("memstamp: cpu K seq N"), per CPU, in order.
std::map<unsigned, std::vector<unsigned>> sequence_lines(const std::string& out)
{
    static const std::regex kLine("memstamp: cpu ([0-9]+) seq ([0-9]+)");
    std::map<unsigned, std::vector<unsigned>> seen;
    for (const auto& line : lines_of(out)) {
        std::smatch match;
        if (std::regex_match(line, match, kLine))
            seen[static_cast<unsigned>(std::stoul(match[1]))].push_back(static_cast<unsigned>(std::stoul(match[2])));
    }
    return seen;
}

// memstamp on `cpus` vCPUs, `writes` page writes per CPU, a `seq` line every `every` writes.
std::vector<std::string> memstamp_args(unsigned cpus, unsigned writes, unsigned every)
{
    return {"--kernel", testguest("memstamp"), "--cpus", std::to_string(cpus), "--memory", "64M", "--cmdline",
        "memstamp.pages=1024 memstamp.writes=" + std::to_string(writes) + " memstamp.every=" + std::to_string(every)};
}

ProcessResult restore(const std::string& dir, std::vector<std::string> extra = {}, std::chrono::seconds timeout = 120s)
{
    std::vector<std::string> args {"--restore", dir};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vmm(args, timeout);
}

} // namespace

TEST_CASE("snapshot: memstamp snapshotted mid-run, the VMM killed, restored: it continues its sequence and every page checks out", "[snapshot]")
{
    if (!kvm_available())
        return;
    for (const unsigned cpus : {1u, 4u}) {
        INFO(cpus << " vCPU(s)");
        TempDir dir;
        const unsigned writes = cpus == 1 ? 12000 : 3000;
        const unsigned every = cpus == 1 ? 1000 : 500;
        ApiVm vm(dir, memstamp_args(cpus, writes, every));
        vm.wait_for("memstamp: cpu 0 seq " + std::to_string(2 * every));
        const Json answer = vm.snapshot(dir.file("snap"));
        CHECK(answer["vcpus"] == cpus);
        CHECK(answer["state"] == "running");
        CHECK(answer["unsaved_devices"].empty()); // every device saved its own state
        // Sparse: the 64 MiB guest touched its image, its table and 4 MiB of stamped pages.
        CHECK(answer["memory_bytes"] == 64u << 20);
        CHECK(answer["memory_data_bytes"].get<std::uint64_t>() < (16u << 20));
        struct stat memory {};
        REQUIRE(::stat(dir.file("snap/memory").c_str(), &memory) == 0);
        CHECK(memory.st_size == 64 << 20);
        CHECK(std::uint64_t(memory.st_blocks) * 512 < (20u << 20));
        // The guest ran on after the snapshot: a later line, then kill -9 (no clean end).
        vm.wait_for("memstamp: cpu 0 seq " + std::to_string(3 * every));
        const auto before = sequence_lines(vm.vmm->out());
        vm.kill();

        const ProcessResult restored = restore(dir.file("snap"));
        INFO("restored stdout: " << restored.out << "\nstderr: " << restored.err);
        CHECK(restored.exit_status == 0);
        CHECK(has_line(restored.out, "memstamp: verify ok " + std::to_string(writes) + " writes per cpu"));
        CHECK(restored.out.find("memstamp: start") == std::string::npos); // not booted again
        CHECK(restored.out.find("FAILED") == std::string::npos);
        const auto after = sequence_lines(restored.out);
        REQUIRE(after.size() == cpus);
        for (const auto& [cpu, numbers] : after) {
            INFO("cpu " << cpu);
            REQUIRE_FALSE(numbers.empty());
            // Where it left off: past the first lines it printed before the snapshot, never from 0.
            CHECK(numbers.front() > every);
            CHECK(numbers.back() == writes);
            CHECK(std::is_sorted(numbers.begin(), numbers.end()));
        }
        // CPU 0 was at 2 * every or later when the snapshot was asked for, and the restored run
        // repeats at most what it printed between the snapshot and the kill.
        CHECK(after.at(0).front() > 2 * every);
        CHECK(after.at(0).front() <= before.at(0).back() + every);
    }
}

TEST_CASE("snapshot: a guest writing a virtio-blk disk goes on writing it after a restore, its queue where it was", "[snapshot][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("disk.img");
    write_file(image, std::string(1 << 20, '\0'));
    ApiVm vm(dir, {"--kernel", testguest("blkstamp"), "--memory", "32M", "--cmdline",
        "blkstamp.bs=4096 blkstamp.blocks=200 blkstamp.seed=9 blkstamp.count=2000 blkstamp.every=100", "--disk",
        "path=" + image});
    vm.wait_for("blkstamp: wrote 300");
    vm.snapshot(dir.file("snap"));
    vm.wait_for("blkstamp: wrote 800");
    vm.kill();
    // Without --with-disks the disk is ahead of the snapshot: the restored guest writes its
    // writes after the snapshot again. blkstamp's n-th write is always the same block with the
    // same bytes, so the disk must end as if no snapshot had been taken: one instant, cut 2000.
    const ProcessResult restored = restore(dir.file("snap"));
    INFO("stdout: " << restored.out << "\nstderr: " << restored.err);
    CHECK(restored.exit_status == 0);
    CHECK(has_line(restored.out, "blkstamp: done 2000 writes"));
    CHECK(restored.out.find("blkstamp: start") == std::string::npos);
    CHECK(restored.out.find("blkstamp: wrote 100\n") == std::string::npos);
    CHECK(restored.out.find("FAILED") == std::string::npos);
    const auto check = check_stamped_image(read_whole_file(image), StampLayout {4096, 200, 9});
    INFO(check.problem);
    CHECK(check.consistent);
    CHECK(check.cut == 2000);
}

TEST_CASE("snapshot: not one serial byte repeated or lost across a snapshot and a restore", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    // chatter prints as fast as it can: nearly every exit is an `out` to the UART, so the pause
    // lands right after one. A vCPU state saved before KVM completed that exit would print the
    // byte again after the restore (hardware KVM's fast PIO path advances RIP only at the next
    // KVM_RUN; kvm_pvm's emulator advances it before the exit, so there this cannot fail that way).
    ApiVm vm(dir, {"--kernel", testguest("chatter")});
    vm.wait_for("chatter: line 200 of output nobody has to read");
    vm.snapshot(dir.file("snap"), /*leave_paused=*/true);
    vm.vmm->read_for(300ms); // everything printed before the pause
    const std::string before = vm.vmm->out();
    vm.kill();
    const ProcessResult restored = restore(dir.file("snap"), {"--timeout", "1"});
    CHECK(restored.exit_status == 124);
    const auto lines = lines_of(before + restored.out);
    REQUIRE(lines.size() > 300);
    // Every line but the one the timeout cut is the next one.
    for (std::size_t n = 0; n + 1 < lines.size(); ++n) {
        INFO("line " << n);
        REQUIRE(lines[n] == "chatter: line " + std::to_string(n) + " of output nobody has to read");
    }
}

TEST_CASE("snapshot: one snapshot restored twice at once gives two independent VMs", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    ApiVm vm(dir, memstamp_args(1, 8000, 1000));
    vm.wait_for("memstamp: cpu 0 seq 2000");
    const Json answer = vm.snapshot(dir.file("snap"), /*leave_paused=*/true);
    CHECK(answer["state"] == "paused");
    vm.kill();
    const std::string memory_before = read_file(dir.file("snap/memory"));

    const std::vector<std::string> argv {minivmm_binary(), "run", "--restore", dir.file("snap")};
    BackgroundProcess first(argv);
    BackgroundProcess second(argv);
    const ProcessResult one = first.wait(120s);
    const ProcessResult two = second.wait(120s);
    for (const ProcessResult* result : {&one, &two}) {
        INFO("stdout: " << result->out << "\nstderr: " << result->err);
        CHECK(result->exit_status == 0);
        CHECK(has_line(result->out, "memstamp: verify ok 8000 writes per cpu"));
        CHECK(result->out.find("memstamp: start") == std::string::npos);
    }
    // MAP_PRIVATE: neither guest's 6000 writes reached the file the other one reads.
    CHECK(read_file(dir.file("snap/memory")) == memory_before);
}

TEST_CASE("snapshot: a paused VM is snapshotted as it is and stays paused until resumed", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    ApiVm vm(dir, memstamp_args(1, 6000, 1000));
    vm.wait_for("memstamp: cpu 0 seq 1000");
    REQUIRE(ctl(vm.socket, {"pause"}).exit_status == 0);
    vm.vmm->read_for(200ms);
    const std::size_t lines = vm.vmm->lines().size();
    const Json answer = vm.snapshot(dir.file("snap"));
    CHECK(answer["state"] == "paused");
    CHECK(json_of(ctl(vm.socket, {"info"}).out)["state"] == "paused");
    vm.vmm->read_for(500ms);
    CHECK(vm.vmm->lines().size() == lines); // nothing ran
    REQUIRE(ctl(vm.socket, {"resume"}).exit_status == 0);
    const ProcessResult end = vm.vmm->wait(120s);
    CHECK(end.exit_status == 0);
    CHECK(has_line(end.out, "memstamp: verify ok 6000 writes per cpu"));
    // And the snapshot continues from the same point.
    const ProcessResult restored = restore(dir.file("snap"));
    CHECK(restored.exit_status == 0);
    CHECK(has_line(restored.out, "memstamp: verify ok 6000 writes per cpu"));
    CHECK(restored.out.find("memstamp: cpu 0 seq 1000\n") == std::string::npos);
}

TEST_CASE("snapshot: a restored VM can start paused and be resumed through its API", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    {
        ApiVm vm(dir, memstamp_args(1, 6000, 1000));
        vm.wait_for("memstamp: cpu 0 seq 1000");
        vm.snapshot(dir.file("snap"));
        vm.kill();
    }
    const std::string socket = dir.file("restored.sock");
    BackgroundProcess restored({minivmm_binary(), "run", "--restore", dir.file("snap"), "--paused", "--api-socket", socket});
    // The socket answers once the VM is up; the guest prints nothing while paused.
    ProcessResult info;
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
        info = ctl(socket, {"info"});
        if (info.exit_status == 0)
            break;
        restored.read_for(50ms);
    }
    REQUIRE(info.exit_status == 0);
    CHECK(json_of(info.out)["state"] == "paused");
    restored.read_for(500ms);
    CHECK(restored.lines().empty());
    CHECK(ctl(socket, {"resume"}).exit_status == 0);
    const ProcessResult end = restored.wait(120s);
    INFO("stdout: " << end.out << "\nstderr: " << end.err);
    CHECK(end.exit_status == 0);
    CHECK(has_line(end.out, "memstamp: verify ok 6000 writes per cpu"));
}

TEST_CASE("snapshot: a snapshot that cannot be written is an API error and the VM runs on; no DIR that looks valid", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    ApiVm vm(dir, memstamp_args(1, 20000, 500));
    vm.wait_for("memstamp: cpu 0 seq 500");
    SECTION("DIR's parent does not exist")
    {
        const ProcessResult refused = ctl(vm.socket, {"snapshot", dir.file("missing/snap")});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("minivmm: error: snapshot: snapshot directory") == 0);
        CHECK(refused.err.find("No such file or directory (HTTP 400)") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.file("missing")));
    }
    SECTION("DIR already holds a snapshot: it is not overwritten")
    {
        vm.snapshot(dir.file("snap"));
        const std::string vmstate = read_file(dir.file("snap/vmstate"));
        const ProcessResult refused = ctl(vm.socket, {"snapshot", dir.file("snap")});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("already holds a snapshot (HTTP 400)") != std::string::npos);
        CHECK(read_file(dir.file("snap/vmstate")) == vmstate);
    }
    SECTION("the disk is full: the partial files and the DIR it created are removed")
    {
        // A 1 MiB tmpfs cannot hold the guest's stamped pages.
        const std::string small = dir.file("small");
        std::filesystem::create_directory(small);
        REQUIRE(run_process({"/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small}).exit_status == 0);
        const ProcessResult refused = ctl(vm.socket, {"snapshot", small + "/snap"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("No space left on device (HTTP 500)") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(small + "/snap"));
        CHECK(run_process({"/bin/umount", small}).exit_status == 0);
    }
    // Whatever failed, the guest goes on where it was.
    const auto seen = sequence_lines(vm.vmm->out()).at(0).back();
    vm.wait_for("memstamp: cpu 0 seq " + std::to_string(seen + 1000));
    CHECK(json_of(ctl(vm.socket, {"info"}).out)["state"] == "running");
}

TEST_CASE("snapshot: every broken snapshot is one error line, exit 120, and nothing starts", "[snapshot]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string disk = dir.file("disk.img");
    write_file(disk, std::string(1 << 20, '\0'));
    {
        ApiVm vm(dir, {"--kernel", testguest("chatter"), "--memory", "16M", "--disk", "path=" + disk + ",id=data", "--serial",
            "none"});
        // Up and running: the socket answers.
        ProcessResult info;
        for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
            info = ctl(vm.socket, {"info"});
            if (info.exit_status == 0)
                break;
            vm.vmm->read_for(50ms);
        }
        REQUIRE(info.exit_status == 0);
        vm.snapshot(dir.file("good"));
        vm.kill();
    }
    const auto broken_copy = [&](const std::string& name) {
        std::filesystem::copy(dir.file("good"), dir.file(name));
        return dir.file(name);
    };
    const auto refused = [&](const std::string& snapshot, const std::string& needle, std::vector<std::string> extra = {}) {
        std::vector<std::string> args {"--restore", snapshot, "--serial", "stdio"};
        args.insert(args.end(), extra.begin(), extra.end());
        const ProcessResult result = run_vmm(args, 30s);
        check_one_error_line(result, kVmmError, needle);
    };

    // The good one restores (and runs until its timeout).
    CHECK(run_vmm({"--restore", dir.file("good"), "--serial", "none", "--timeout", "0.5"}, 30s).exit_status == 124);

    SECTION("no vmstate (a snapshot that failed half-way)")
    {
        const std::string snapshot = broken_copy("none");
        std::filesystem::remove(snapshot + "/vmstate");
        refused(snapshot, "vmstate");
    }
    SECTION("truncated vmstate")
    {
        const std::string snapshot = broken_copy("truncated");
        const std::string bytes = read_file(snapshot + "/vmstate");
        write_file(snapshot + "/vmstate", bytes.substr(0, bytes.size() / 2));
        refused(snapshot, "--restore " + snapshot + ": ");
    }
    SECTION("one flipped byte (the checksum)")
    {
        const std::string snapshot = broken_copy("flipped");
        std::string bytes = read_file(snapshot + "/vmstate");
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
        write_file(snapshot + "/vmstate", bytes);
        refused(snapshot, "checksum");
    }
    SECTION("written by a newer minivmm (format version 2, checksum right)")
    {
        const std::string snapshot = broken_copy("future");
        std::string bytes = read_file(snapshot + "/vmstate");
        REQUIRE(bytes.size() > 32);
        REQUIRE(bytes.substr(0, 8) == "MVMSTATE");
        bytes[8] = 2; // format version, little-endian u32 at offset 8
        for (int i = 24; i < 28; ++i)
            bytes[i] = 0; // the CRC32C at offset 24 is computed over the file with itself as zero
        const std::uint32_t crc = crc32c(bytes);
        for (int i = 0; i < 4; ++i)
            bytes[24 + i] = static_cast<char>(crc >> (8 * i));
        write_file(snapshot + "/vmstate", bytes);
        refused(snapshot, "format version 2 was written by a newer minivmm");
    }
    SECTION("a memory file of the wrong size")
    {
        const std::string snapshot = broken_copy("short-memory");
        std::filesystem::resize_file(snapshot + "/memory", 8 << 20);
        refused(snapshot, "memory is 8388608 bytes, the snapshot's RAM layout needs 16777216 bytes");
    }
    SECTION("the disk is missing")
    {
        const std::string snapshot = broken_copy("no-disk");
        std::filesystem::rename(disk, disk + ".moved");
        refused(snapshot, "disk data: " + disk + ": No such file or directory");
        // --disk id=ID,path=NEWPATH finds it again.
        CHECK(run_vmm({"--restore", snapshot, "--serial", "none", "--timeout", "0.5", "--disk",
                  "id=data,path=" + disk + ".moved"},
                  30s)
                  .exit_status
            == 124);
    }
    SECTION("the disk was resized")
    {
        const std::string snapshot = broken_copy("resized");
        std::filesystem::resize_file(disk, 2 << 20);
        refused(snapshot, "disk data: " + disk + " is 2097152 bytes, the snapshot was taken with 1048576 bytes");
    }
    SECTION("an option the snapshot fixes")
    {
        refused(dir.file("good"), "--cpus cannot be combined with --restore", {"--cpus", "2"});
        refused(dir.file("good"), "--paused needs --api-socket", {"--paused"});
        refused(dir.file("good"), "--disk id=other: the snapshot has no disk with that id", {"--disk", "id=other,path=/x"});
    }
}

// ---- slow: MINIVMM_SLOW_TESTS=1 (a Linux boot takes minutes when KVM is software-emulated)

TEST_CASE("snapshot slow: the minimal Linux kernel snapshotted mid-boot restores and goes on to Run /init", "[snapshot][linux][slow]")
{
    if (!slow_tests_enabled()) {
        WARN("skipped: set MINIVMM_SLOW_TESTS=1 to snapshot a booting Linux kernel");
        return;
    }
    if (!kvm_available())
        return;
    const auto kernel = linux_image("MINIMAL_VMLINUX");
    const auto initrd = linux_image("INITRAMFS");
    if (!kernel || !initrd)
        return;
    TempDir dir;
    // Past the point where the LAPIC timer, the IOAPIC, kvmclock and interrupts are all in use.
    const std::string marker = "devtmpfs: initialized";
    const std::string run_init = "Run /init as init process";
    {
        ApiVm vm(dir, {"--kernel", *kernel, "--initrd", *initrd, "--memory", "256M", "--timeout", "400", "--cmdline",
            "console=ttyS0 earlyprintk=serial,ttyS0 8250.nr_uarts=1 tsc=reliable no_timer_check noreplace-smp "
            "rcupdate.rcu_expedited=1 mitigations=off reboot=k"});
        const auto deadline = std::chrono::steady_clock::now() + 300s;
        while (vm.vmm->out().find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline)
            vm.vmm->read_for(200ms);
        INFO("stdout: " << vm.vmm->out() << "\nstderr: " << vm.vmm->err());
        REQUIRE(vm.vmm->out().find(marker) != std::string::npos);
        REQUIRE(vm.vmm->out().find(run_init) == std::string::npos);
        vm.snapshot(dir.file("snap"));
        vm.kill();
    }
    ProcessOptions options;
    options.timeout = 600s;
    options.kill_when = [&](const std::string& out) { return out.find(run_init) != std::string::npos; };
    const ProcessResult restored =
        run_process({minivmm_binary(), "run", "--restore", dir.file("snap"), "--timeout", "500"}, options);
    INFO("restored stdout: " << restored.out << "\nstderr: " << restored.err);
    CHECK_FALSE(restored.timed_out);
    CHECK(restored.out.find(run_init) != std::string::npos);
    CHECK(restored.out.find("Linux version") == std::string::npos); // continued, not booted again
    CHECK(restored.out.find("Kernel panic") == std::string::npos);   // nothing broke before init
}
