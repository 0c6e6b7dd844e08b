// Bad input to `minivmm run`: each case ends in exactly one clear line on stderr and its
// documented exit code, before any guest runs (README.md, "Exit codes").
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/temp_disk_file.hpp"

using namespace minivmm::testing;

TEST_CASE("a file that is not a kernel is refused, naming what was found", "[cli]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string text = dir.file("notes.txt");
    std::ofstream(text) << "these are my notes, not a kernel\n";
    check_one_error_line(run_vmm({"--kernel", text}), 120, "not a kernel");
}

TEST_CASE("a 1-byte kernel is refused", "[cli]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string tiny = dir.file("tiny");
    std::ofstream(tiny) << "M";
    check_one_error_line(run_vmm({"--kernel", tiny}), 120, tiny);
}

TEST_CASE("a missing kernel or initrd is refused, naming the file", "[cli]")
{
    check_one_error_line(run_vmm({"--kernel", "/nonexistent/kernel.elf"}), 120, "/nonexistent/kernel.elf");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--initrd", "/nonexistent/initrd.img"}), 120,
        "--initrd /nonexistent/initrd.img: No such file or directory");
}

TEST_CASE("invalid --cpus, --memory, --timeout and --serial values are refused", "[cli]")
{
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--cpus", "0"}), 120, "--cpus");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--cpus", "many"}), 2, "--cpus");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--memory", "1K"}), 120, "--memory");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--memory", "lots"}), 120, "lots");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--memory", "100T"}), 120, "--memory");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--timeout", "-3"}), 120, "--timeout");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--serial", "telnet:1234"}), 120, "telnet:1234");
}

TEST_CASE("an unknown option is a usage error with status 2", "[cli]")
{
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--turbo"}), 2, "--turbo");
}

TEST_CASE("more vCPUs than the MP table can describe are refused before the VM starts", "[cli]")
{
    if (!kvm_available())
        return;
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--cpus", "255"}), 120, "--cpus");
}

namespace {
std::string file_bytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
} // namespace

TEST_CASE("--serial file:X with X one of the VM's disks is refused, and X keeps its bytes", "[cli][serial]")
{
    if (!kvm_available())
        return;
    TempDiskFile disk(64 * 1024);
    const std::string before = file_bytes(disk.path());
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--disk", "path=" + disk.path(), "--serial", "file:" + disk.path()}),
        120, disk.path());
    CHECK(file_bytes(disk.path()) == before);

    // The same file under another name (a symlink) is the same disk: compared by identity.
    TempDir dir;
    const std::string alias = dir.file("alias.img");
    std::filesystem::create_symlink(disk.path(), alias);
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--disk", "path=" + disk.path(), "--serial", "file:" + alias}),
        120, alias);
    CHECK(file_bytes(disk.path()) == before);
}

TEST_CASE("--serial file:X with X a disk of another running minivmm is refused, and X keeps its bytes", "[cli][serial]")
{
    if (!kvm_available())
        return;
    TempDiskFile disk(64 * 1024);
    const std::string before = file_bytes(disk.path());
    BackgroundProcess holder({minivmm_binary(), "run", "--kernel", testguest("spin"), "--disk", "path=" + disk.path()});
    REQUIRE(holder.wait_for_line("spin: spinning forever", std::chrono::seconds(30)));

    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--serial", "file:" + disk.path()}), 120, disk.path());
    CHECK(file_bytes(disk.path()) == before);
    holder.stop(SIGTERM);
}
