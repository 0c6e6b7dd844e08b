// Linux drivers against minivmm's devices: the minimal kernel mounts an ext4 file system from
// virtio-blk and writes a file the host then reads; it configures eth0 on virtio-net and pings
// the host inside a test network namespace. Both need guest user space (mount, ip, ping from the
// busybox initramfs, run in command mode), so they run only with MINIVMM_SLOW_TESTS=1 and on
// hardware KVM; on a software-emulated KVM host (kvm_pvm) user space cannot run at all
// (MACHINE-NOTES.md) and they say so.
#include <unistd.h>

#include <fstream>

#include "tests/integration/linux_guest.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;

namespace {
constexpr const char* kCmdline = "console=ttyS0 reboot=k";

// Whether this host can run these tests; a WARN saying why not otherwise.
bool user_space_tests_can_run()
{
    if (!kvm_available())
        return false;
    if (!slow_tests_enabled()) {
        WARN("skipped: boots Linux to user space; set MINIVMM_SLOW_TESTS=1 to run it");
        return false;
    }
    if (host_kvm_is_software_emulated()) {
        WARN("skipped: needs guest user space, which cannot run on this host's software-emulated KVM "
             "(kvm_pvm: init dies at its first system call under any VMM); run it on hardware KVM");
        return false;
    }
    return true;
}

std::string run_host(const std::string& command)
{
    ProcessOptions options;
    options.timeout = 360s;
    auto result = run_process({"/bin/sh", "-c", command}, {});
    INFO(command << ": " << result.err);
    REQUIRE(result.exit_status == 0);
    return result.out;
}
} // namespace

TEST_CASE("linux: the minimal kernel mounts ext4 on virtio-blk, writes and syncs a file the host then reads",
    "[linux][slow][blk]")
{
    if (!user_space_tests_can_run())
        return;
    const auto kernel = linux_image("MINIMAL_VMLINUX");
    const auto initrd = linux_image("INITRAMFS");
    if (!kernel || !initrd)
        return;
    TempDir dir;
    const std::string image = dir.file("ext4.img");
    run_host("truncate -s 64M " + image + " && mkfs.ext4 -q -F " + image);

    auto result = run_vmm({"--kernel", *kernel, "--initrd", *initrd, "--memory", "256M", "--cmdline", kCmdline,
                              "--disk", "path=" + image, "--timeout", "300", "--",
                              "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo written-by-the-guest > /mnt/hello "
                              "&& sync && umount /mnt"},
        360s);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    REQUIRE(result.exit_status == 0);
    CHECK(run_host("debugfs -R 'cat /hello' " + image + " 2>/dev/null") == "written-by-the-guest\n");
    run_host("e2fsck -fn " + image + " >/dev/null"); // the guest left a clean file system
}

TEST_CASE("linux: the minimal kernel configures eth0 on virtio-net and pings the host in a namespace",
    "[linux][slow][net]")
{
    if (!user_space_tests_can_run())
        return;
    if (::geteuid() != 0) {
        WARN("skipped: network namespaces need root");
        return;
    }
    const auto kernel = linux_image("MINIMAL_VMLINUX");
    const auto initrd = linux_image("INITRAMFS");
    if (!kernel || !initrd)
        return;
    const std::string ns = "minivmm-linux-" + std::to_string(::getpid());
    run_host("ip netns add " + ns + " && ip -n " + ns + " tuntap add dev tap0 mode tap && ip -n " + ns +
             " addr add 10.0.0.1/24 dev tap0 && ip -n " + ns + " link set tap0 up");
    struct NamespaceGuard {
        std::string name;
        ~NamespaceGuard() { (void)run_process({"/bin/sh", "-c", "ip netns del " + name}, {}); }
    } guard {ns};

    ProcessOptions options;
    options.timeout = 360s;
    auto result = run_process({"/bin/sh", "-c",
                                  "ip netns exec " + ns + " " + minivmm_binary() + " run --kernel " + *kernel +
                                      " --initrd " + *initrd + " --memory 256M --cmdline '" + kCmdline +
                                      "' --net tap=tap0 --timeout 300 -- 'ip link set eth0 up && ip addr add "
                                      "10.0.0.2/24 dev eth0 && ping -c 3 -W 5 10.0.0.1'"},
        options);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 0);
    CHECK(result.out.find("3 packets received") != std::string::npos);
}
