// virtio-blk end to end on /dev/kvm: the `blk` guest's requests land in the host image file as
// virtio 1.2 §5.2.6 (Device Operation) says, flushed data survives a kill -9, disk images are
// locked against a second VMM, and the `hostile` guest's broken virtqueues (§2.7, Split
// Virtqueues) end in DEVICE_NEEDS_RESET and a working device after a reset (§2.1.2, §2.4).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iterator>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/loop_device.hpp"

using namespace minivmm::testing;

namespace {

constexpr std::size_t kSector = 512;
constexpr std::size_t kPatternFirst = 1; // the guest writes sectors 1..8
constexpr std::size_t kPatternSectors = 8;

using Bytes = std::string;

Bytes read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A disk image of `size` bytes where every byte is nonzero and depends on its offset, so any
// stray write, zeroing or shift shows.
Bytes make_image(const std::string& path, std::size_t size)
{
    Bytes content(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        content[i] = static_cast<char>(((i * 13 + i / kSector * 5) % 255) + 1);
    std::ofstream(path, std::ios::binary) << content;
    return content;
}

// The bytes the blk guest writes to sectors 1..8 (blk.c, fill_pattern).
Bytes guest_pattern()
{
    Bytes pattern(kPatternSectors * kSector, '\0');
    for (std::size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<char>(static_cast<std::uint8_t>(i * 7 + i / kSector + 0x5a));
    return pattern;
}

Bytes sectors(const Bytes& image, std::size_t first, std::size_t count)
{
    return image.substr(first * kSector, count * kSector);
}

// Byte-exact comparison with the first difference in the failure message.
void check_same_bytes(const Bytes& got, const Bytes& want, const std::string& what)
{
    INFO(what);
    REQUIRE(got.size() == want.size());
    std::size_t first_diff = got.size();
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i]) {
            first_diff = i;
            break;
        }
    INFO("first difference at byte " << first_diff);
    CHECK(first_diff == got.size());
}

const std::vector<std::string> kDefaultSteps = {"init", "capacity", "read", "write", "flush", "read-back", "discard",
    "write-zeroes", "read-zeroes", "get-id", "read-beyond-capacity"};

void check_steps_ok(const ProcessResult& result, const std::vector<std::string>& steps)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    for (const auto& step : steps) {
        INFO("step " << step);
        CHECK(has_line(result.out, "blk: " + step + " ok"));
    }
    CHECK(result.out.find("FAILED") == std::string::npos);
    CHECK(has_line(result.out, "blk: done"));
    CHECK(result.exit_status == 0);
}

// One full default run on a 1 MiB image; afterwards sectors 1..8 are zero (write-zeroes was the
// guest's last write there) and every other byte is what the host put there.
void check_default_run(const std::string& extra_disk_options)
{
    TempDir dir;
    const std::string image = dir.file("disk.img");
    const Bytes before = make_image(image, 1 << 20);
    auto result = run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image + extra_disk_options});
    check_steps_ok(result, kDefaultSteps);
    CHECK(has_line(result.out, "blk: capacity 2048 sectors"));

    const Bytes after = read_file(image);
    REQUIRE(after.size() == before.size());
    check_same_bytes(sectors(after, kPatternFirst, kPatternSectors), Bytes(kPatternSectors * kSector, '\0'),
        "sectors 1..8 after write-zeroes");
    check_same_bytes(sectors(after, 0, 1), sectors(before, 0, 1), "sector 0 (only read)");
    check_same_bytes(after.substr(9 * kSector), before.substr(9 * kSector), "sectors 9.. (never touched)");
}

// Parses the guest's `blk: features 0x<16 hex>` line.
std::uint64_t negotiated_features(const std::string& out)
{
    const std::string prefix = "blk: features 0x";
    for (const auto& line : lines_of(out))
        if (line.rfind(prefix, 0) == 0)
            return std::stoull(line.substr(prefix.size()), nullptr, 16);
    FAIL("no '" << prefix << "' line in: " << out);
    return 0;
}

void check_no_sanitizer_report(const std::string& err)
{
    for (const char* marker : {"Sanitizer", "runtime error:", "Assertion", "internal error"}) {
        INFO("stderr: " << err);
        CHECK(err.find(marker) == std::string::npos);
    }
}

} // namespace

TEST_CASE("virtio-v1.2 §5.2.6: every blk step passes and the host file holds exactly what the requests did",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    check_default_run("");
}

TEST_CASE("virtio-v1.2 §5.2.6: the sync and io_uring engines both pass every blk step", "[guest][blk]")
{
    if (!kvm_available())
        return;
    SECTION("engine=sync") { check_default_run(",engine=sync"); }
    SECTION("engine=uring") { check_default_run(",engine=uring"); }
}

TEST_CASE("virtio-v1.2 §5.2.6: a written and flushed pattern is in the host file byte for byte; serial= is the GET_ID "
          "answer",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("disk.img");
    const Bytes before = make_image(image, 64 * kSector);
    // 20 bytes, the VIRTIO_BLK_ID_BYTES maximum: the answer has no NUL terminator (§5.2.6).
    const std::string serial = "minivmm-serial-20chr";
    REQUIRE(serial.size() == 20);
    auto result = run_vmm({"--kernel", testguest("blk"), "--cmdline", "blk.mode=keep", "--disk",
        "path=" + image + ",serial=" + serial});
    check_steps_ok(result, {"init", "capacity", "read", "write", "flush", "read-back", "get-id", "read-beyond-capacity"});
    CHECK(has_line(result.out, "blk: discard skipped (blk.mode=keep)"));
    CHECK(has_line(result.out, "blk: write-zeroes skipped (blk.mode=keep)"));
    CHECK(has_line(result.out, "blk: id '" + serial + "'"));

    const Bytes after = read_file(image);
    REQUIRE(after.size() == before.size());
    check_same_bytes(sectors(after, kPatternFirst, kPatternSectors), guest_pattern(), "sectors 1..8 = guest pattern");
    check_same_bytes(sectors(after, 0, 1), sectors(before, 0, 1), "sector 0");
    check_same_bytes(after.substr(9 * kSector), before.substr(9 * kSector), "sectors 9..");
}

TEST_CASE("virtio-v1.2 §5.2.5: direct=on on a host disk with 4096-byte blocks serves the guest's 512-byte and "
          "unaligned requests (both engines)",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    // blk_size is only "the optimal sector size" (§5.2.5): the guest's 512-byte read of sector 0
    // and its 4096-byte write at sector 1 are legal, and O_DIRECT refuses both as they are.
    for (const std::string engine : {"sync", "uring"}) {
        INFO("engine=" << engine);
        TempDir dir;
        const std::string image = dir.file("disk.img");
        const Bytes before = make_image(image, 64 * kSector);
        auto loop = require_4k_loop_device(image);
        if (!loop)
            return;
        auto result = run_vmm({"--kernel", testguest("blk"), "--cmdline", "blk.mode=keep", "--disk",
            "path=" + loop->path() + ",direct=on,engine=" + engine});
        check_steps_ok(result, {"init", "capacity", "read", "write", "flush", "read-back", "get-id", "read-beyond-capacity"});
        const Bytes after = read_file(image);
        REQUIRE(after.size() == before.size());
        check_same_bytes(sectors(after, kPatternFirst, kPatternSectors), guest_pattern(), "sectors 1..8 = guest pattern");
        check_same_bytes(sectors(after, 0, 1), sectors(before, 0, 1), "sector 0 (read-modify-write kept it)");
        check_same_bytes(after.substr(9 * kSector), before.substr(9 * kSector), "sectors 9.. (same for 9..15)");
    }
}

TEST_CASE("virtio-v1.2 §5.2.6.2: a readonly=on disk offers VIRTIO_BLK_F_RO, fails writes with IOERR and stays unchanged",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("disk.img");
    const Bytes before = make_image(image, 64 * kSector);
    auto result = run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image + ",readonly=on"});
    check_steps_ok(result, {"init", "capacity", "read", "get-id", "read-beyond-capacity", "write-read-only"});
    constexpr std::uint64_t kRo = std::uint64_t(1) << 5; // VIRTIO_BLK_F_RO (§5.2.3)
    CHECK((negotiated_features(result.out) & kRo) != 0);
    CHECK(has_line(result.out, "blk: write skipped (read-only device)"));
    check_same_bytes(read_file(image), before, "the whole read-only image");
}

TEST_CASE("virtio-v1.2 §5.2.6.2: a read at sector = capacity is IOERR, also when the file ends in a partial sector",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("disk.img");
    // 9 whole sectors and 100 bytes: capacity is 9, and the tail is not a sector the guest may use.
    const Bytes before = make_image(image, 9 * kSector + 100);
    auto result = run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image});
    check_steps_ok(result, kDefaultSteps);
    CHECK(has_line(result.out, "blk: capacity 9 sectors"));
    const Bytes after = read_file(image);
    REQUIRE(after.size() == before.size());
    check_same_bytes(after.substr(9 * kSector), before.substr(9 * kSector), "the partial last sector");
}

TEST_CASE("virtio-v1.2 §5.2.6.2: data written before a completed flush is in the file after kill -9 (both engines)",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    std::string engine;
    SECTION("engine=sync") { engine = "sync"; }
    SECTION("engine=uring") { engine = "uring"; }
    TempDir dir;
    const std::string image = dir.file("disk.img");
    const Bytes before = make_image(image, 64 * kSector);
    std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", testguest("blk"), "--cmdline",
        "blk.mode=durability", "--disk", "path=" + image + ",engine=" + engine};
    ProcessOptions options;
    options.timeout = std::chrono::seconds(60);
    // SIGKILL the moment the guest has seen its flush complete: nothing in minivmm runs after.
    // (This checks the data reached the host kernel before the completion, not power-loss safety.)
    options.kill_when = [](const std::string& out) { return has_line(out, "blk: flushed"); };
    const ProcessResult result = run_process(argv, options);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    CHECK(has_line(result.out, "blk: write ok"));
    CHECK(has_line(result.out, "blk: flush ok"));
    REQUIRE(has_line(result.out, "blk: flushed"));
    CHECK(result.signal == SIGKILL);
    const Bytes after = read_file(image);
    REQUIRE(after.size() == before.size());
    check_same_bytes(sectors(after, kPatternFirst, kPatternSectors), guest_pattern(), "sectors 1..8 after kill -9");
    check_same_bytes(after.substr(9 * kSector), before.substr(9 * kSector), "sectors 9..");
}

TEST_CASE("a writable disk image in use by a running minivmm is refused to a second one (exit 120, one line)",
    "[guest][blk]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("disk.img");
    make_image(image, 64 * kSector);
    BackgroundProcess first({minivmm_binary(), "run", "--kernel", testguest("spin"), "--disk", "path=" + image});
    REQUIRE(first.wait_for_line("spin: spinning forever", std::chrono::seconds(30)));

    const auto writer = run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image}, std::chrono::seconds(30));
    check_one_error_line(writer, "in use");
    // A reader is refused too: the first VMM may be writing (one writer or many readers).
    const auto reader = run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image + ",readonly=on"},
        std::chrono::seconds(30));
    check_one_error_line(reader, "in use");

    INFO("first VMM's output: " << first.out() << first.err());
    REQUIRE(first.send_input("\x01x")); // Ctrl-A x on its console (README: status 130)
    CHECK(first.wait(std::chrono::seconds(30)).exit_status == 130);
    // The lock ends with the first VMM: the image is usable again.
    auto after = run_vmm({"--kernel", testguest("blk"), "--cmdline", "blk.mode=keep", "--disk", "path=" + image});
    CHECK(after.exit_status == 0);
}

TEST_CASE("a missing disk file and a malformed --disk spec each end with exit 120 and one error line", "[blk][cli]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string missing = dir.file("no-such-disk.img");
    check_one_error_line(run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + missing}), missing);
    const std::string image = dir.file("disk.img");
    make_image(image, 64 * kSector);
    check_one_error_line(run_vmm({"--kernel", testguest("blk"), "--disk", "serial=abc"}), "path=FILE is required");
    check_one_error_line(run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image + ",colour=blue"}),
        "unknown key 'colour'");
    check_one_error_line(run_vmm({"--kernel", testguest("blk"), "--disk", "path=" + image + ",readonly=maybe"}),
        "readonly=maybe");
}

namespace {

struct HostileCase {
    std::string name;
    std::vector<std::string> device_logs; // one of these must be the device's reason on stderr
    int needs_reset = 1;                  // what the Status register must show afterwards
};

const std::vector<HostileCase> kHostileCases = {
    {"desc-loop", {"longer than the queue size"}},
    // 16 + 0xffffffff bytes is over the §2.7.5.2 limit before the range is even checked.
    {"huge-buffer", {"over 2^32 bytes", "buffer outside guest RAM"}},
    {"avail-ahead", {"more than the queue size ahead"}},
    {"queue-size-0", {"queue size is zero, not a power of 2"}},
    {"queue-size-3", {"queue size is zero, not a power of 2"}},
    {"write-before-read", {"device-readable descriptor after a device-writable one"}},
    {"wrap-buffer", {"buffer outside guest RAM"}},
    {"bad-next", {"descriptor index out of range"}},
    {"indirect-unnegotiated", {"indirect descriptor without VIRTIO_F_INDIRECT_DESC"}},
    // A valid request with a reset right behind it: nothing broken, nothing to log.
    {"reset-in-flight", {""}, 0},
};

void check_hostile_run(const ProcessResult& result, const HostileCase& hostile)
{
    INFO("case " << hostile.name << "\nstdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.signal == 0);
    CHECK(result.exit_status == 0);
    // virtio-v1.2 §2.1.2: the device SHOULD set DEVICE_NEEDS_RESET on an error it cannot go on
    // from; minivmm does for each broken rule.
    CHECK(has_line(result.out, "hostile: " + hostile.name + " needs-reset=" + std::to_string(hostile.needs_reset)));
    CHECK(has_line(result.out, "hostile: " + hostile.name + " recovered ok"));
    CHECK(has_line(result.out, "hostile: done"));
    CHECK(result.out.find("FAILED") == std::string::npos);
    bool reason_logged = false;
    for (const auto& log : hostile.device_logs)
        reason_logged = reason_logged || result.err.find(log) != std::string::npos;
    CHECK(reason_logged);
    check_no_sanitizer_report(result.err);
}

std::string hex_of(const Bytes& bytes)
{
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char byte : bytes) {
        text += digits[byte >> 4];
        text += digits[byte & 15];
    }
    return text;
}

} // namespace

TEST_CASE("virtio-v1.2 §2.1.2, §2.4: each broken virtqueue rule sets DEVICE_NEEDS_RESET and a reset makes the disk work "
          "again (sync and io_uring engines)",
    "[guest][blk][hostile]")
{
    if (!kvm_available())
        return;
    for (const std::string engine : {"sync", "uring"}) {
        for (const auto& hostile : kHostileCases) {
            INFO("engine=" << engine);
            TempDir dir;
            const std::string image = dir.file("disk.img");
            const Bytes before = make_image(image, 64 * kSector);
            auto result = run_vmm({"--kernel", testguest("hostile"), "--cmdline", "hostile.case=" + hostile.name,
                "--disk", "path=" + image + ",engine=" + engine});
            check_hostile_run(result, hostile);
            // Every request in the hostile guest is a read: nothing may reach the file.
            check_same_bytes(read_file(image), before, "image after hostile case " + hostile.name);
        }
    }
}

TEST_CASE("virtio-v1.2 §2.1.2: a disk broken by its driver leaves the VM's other disk working", "[guest][blk][hostile]")
{
    if (!kvm_available())
        return;
    for (const auto& hostile : {kHostileCases[0], kHostileCases[2], kHostileCases[3]}) {
        for (int target : {0, 1}) {
            TempDir dir;
            const std::string disk0 = dir.file("disk0.img");
            const std::string disk1 = dir.file("disk1.img");
            const Bytes image0 = make_image(disk0, 64 * kSector);
            Bytes image1 = image0;
            for (std::size_t i = 0; i < 16; ++i)
                image1[i] = static_cast<char>(0xa0 + i); // tell the disks apart by their first bytes
            std::ofstream(disk1, std::ios::binary) << image1;
            const int other = 1 - target;
            auto result = run_vmm({"--kernel", testguest("hostile"), "--cmdline",
                "hostile.case=" + hostile.name + " hostile.disk=" + std::to_string(target), "--disk", "path=" + disk0,
                "--disk", "path=" + disk1});
            INFO("target disk " << target);
            check_hostile_run(result, hostile);
            const Bytes& other_image = other == 0 ? image0 : image1;
            CHECK(has_line(result.out, "hostile: disk " + std::to_string(other) + " read ok first="
                    + hex_of(other_image.substr(0, 16))));
        }
    }
}
