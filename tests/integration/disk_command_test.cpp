// `minivmm disk create|resize|backup`: what a user checks with ls, du and cmp afterwards, and a
// clear refusal for anything that would lose data.
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"

using namespace minivmm::testing;

namespace {
ProcessResult run_disk(std::vector<std::string> args)
{
    std::vector<std::string> argv {minivmm_binary(), "disk"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, {});
}

struct stat stat_of(const std::string& path)
{
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info;
}

std::string read_all(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_at(const std::string& path, std::uint64_t offset, const std::string& bytes)
{
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void check_refused(const ProcessResult& result, const std::string& needle)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 120);
    REQUIRE(lines_of(result.err).size() == 1);
    CHECK(result.err.find(needle) != std::string::npos);
}
} // namespace

TEST_CASE("disk create makes a sparse image of the size asked, rounded up to sectors, and never overwrites", "[disk]")
{
    TempDir dir;
    const std::string image = dir.file("new.img");
    auto created = run_disk({"create", image, "1G"});
    REQUIRE(created.exit_status == 0);
    const auto info = stat_of(image);
    CHECK(info.st_size == (1ll << 30));
    CHECK(info.st_blocks * 512 < (1 << 20)); // sparse: nothing allocated yet

    CHECK(run_disk({"create", dir.file("odd.img"), "1000"}).exit_status == 0);
    CHECK(stat_of(dir.file("odd.img")).st_size == 1024);

    write_at(image, 4096, "keep me");
    check_refused(run_disk({"create", image, "2G"}), "already exists");
    CHECK(stat_of(image).st_size == (1ll << 30));
    CHECK(read_all(image).substr(4096, 7) == "keep me");
}

TEST_CASE("disk resize grows an image and refuses to cut off data", "[disk]")
{
    TempDir dir;
    const std::string image = dir.file("disk.img");
    REQUIRE(run_disk({"create", image, "16M"}).exit_status == 0);
    write_at(image, 12 << 20, "data at 12 MiB");
    REQUIRE(run_disk({"resize", image, "32M"}).exit_status == 0);
    CHECK(stat_of(image).st_size == (32 << 20));
    const auto refused = run_disk({"resize", image, "8M"});
    check_refused(refused, "at least ");
    // The minimum it names covers the data (rounded up to the file system's block holding it).
    const auto at = refused.err.find("at least ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(refused.err.substr(at + 9)) >= (12u << 20) + 14);
    CHECK(stat_of(image).st_size == (32 << 20));
    REQUIRE(run_disk({"resize", image, "13M"}).exit_status == 0); // only holes beyond 13 MiB
    CHECK(read_all(image).substr(12 << 20, 14) == "data at 12 MiB");
}

TEST_CASE("disk backup copies every byte, keeps holes, and refuses an existing destination", "[disk]")
{
    TempDir dir;
    const std::string source = dir.file("source.img");
    const std::string copy = dir.file("copy.img");
    REQUIRE(run_disk({"create", source, "64M"}).exit_status == 0);
    write_at(source, 0, "boot sector");
    write_at(source, 40 << 20, std::string(1 << 20, 'x'));
    auto backup = run_disk({"backup", source, copy});
    INFO(backup.err);
    REQUIRE(backup.exit_status == 0);
    CHECK(backup.out.find("verified") != std::string::npos);
    CHECK(read_all(copy) == read_all(source));
    CHECK(stat_of(copy).st_size == stat_of(source).st_size);
    CHECK(stat_of(copy).st_blocks * 512 < (8 << 20)); // the 63 MiB of holes stay holes

    check_refused(run_disk({"backup", source, copy}), "exist");
}

TEST_CASE("disk backup refuses an image a running VM has open", "[disk][guest]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string image = dir.file("busy.img");
    REQUIRE(run_disk({"create", image, "4M"}).exit_status == 0);
    BackgroundProcess vm({minivmm_binary(), "run", "--kernel", testguest("spin"), "--disk", "path=" + image});
    REQUIRE(vm.wait_for_line("spin: spinning forever", std::chrono::seconds(30)));
    check_refused(run_disk({"backup", image, dir.file("copy.img")}), "in use by a running VM");
    CHECK_FALSE(std::filesystem::exists(dir.file("copy.img")));
    vm.stop(SIGTERM);
}
