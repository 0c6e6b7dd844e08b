// The API's `shutdown` reaching a stock Linux (README.md, "API"): Debian's cloud kernel (i8042,
// atkbd and the VT keyboard built in) binds its i8042 and atkbd drivers to minivmm's keyboard
// controller with no i8042.* parameter, and when the API types Ctrl-Alt-Del it restarts (before
// init runs, ctrl_alt_del() restarts at once) through the i8042 reset that reboot=k writes, so
// minivmm exits 0, the status for a guest reset.
//
// Slow: runs only with MINIVMM_SLOW_TESTS=1 and MINIVMM_IMAGE_DEBIAN_VMLINUX (guest-images/). On
// this project's software-emulated KVM the kernel takes ~15 minutes to get to the i8042 probe and
// user space cannot run at all, so the window is before init: the VM has no root file system (the
// kernel would panic once its initcalls are done), and the test asks for the shutdown as soon as
// the keyboard is registered.
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

#include "tests/integration/linux_guest.hpp"
#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;

namespace {

// A stock command line: no i8042.* parameter. The one addition works around this host's emulator
// (guest-images/README.md), which cannot run SSE instructions in kernel FPU sections:
// blake2s_mod_init (arch/x86/crypto/blake2s-glue.c) would switch BLAKE2s, which random.c uses, to
// SSSE3 code, and the first use ends the VM long before the i8042 probe. Without that initcall
// BLAKE2s stays on its generic C code. Harmless on hardware KVM.
const std::string kCmdline = "console=ttyS0 earlyprintk=serial,ttyS0 8250.nr_uarts=1 tsc=reliable no_timer_check "
                             "noreplace-smp rcupdate.rcu_expedited=1 mitigations=off reboot=k "
                             "initcall_blacklist=blake2s_mod_init";

// What Linux prints when atkbd has bound (drivers/input/keyboard/atkbd.c, atkbd_set_device_attrs,
// through the input core), and the first line of its i8042 probe (i8042-acpipnpio.h: "PNP: PS/2
// Controller [PNP0303:KBD] at 0x60,0x64 irq N" from minivmm's DSDT).
constexpr const char* kKeyboardRegistered = "input: AT Translated Set 2 keyboard";
constexpr const char* kI8042ProbeStart = "i8042: PNP: ";
constexpr const char* kRestarting = "reboot: Restarting system";
constexpr int kExitCleanShutdown = 0; // README.md, "Exit codes": the guest reset through the i8042

// True once the child has exited (not reaped: BackgroundProcess::wait reaps it).
bool has_exited(pid_t pid)
{
    siginfo_t info {};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

// Reads the console until it holds `needle`, the VM ends, or `timeout` passes.
bool wait_for_console(BackgroundProcess& vmm, const std::string& needle, std::chrono::seconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (vmm.out().find(needle) == std::string::npos) {
        if (has_exited(vmm.pid()) || std::chrono::steady_clock::now() >= deadline) {
            vmm.read_for(1s); // whatever is still in the pipe
            return vmm.out().find(needle) != std::string::npos;
        }
        vmm.read_for(500ms);
    }
    return true;
}

// The printk timestamp (seconds of guest time) of the first console line containing `text`.
std::optional<double> printk_time(const std::string& out, const std::string& text)
{
    static const std::regex kStamp(R"(^\[\s*(\d+\.\d+)\] )");
    for (const auto& line : lines_of(out)) {
        std::smatch match;
        if (line.find(text) != std::string::npos && std::regex_search(line, match, kStamp))
            return std::stod(match[1]);
    }
    return std::nullopt;
}

// The keyboard drivers' console lines (i8042, serio, atkbd, the input device), for the report.
std::string keyboard_driver_lines(const std::string& out)
{
    static const std::regex kDriver(R"(i8042|serio|atkbd|input: )");
    std::string lines;
    for (const auto& line : lines_of(out))
        if (std::regex_search(line, kDriver))
            lines += line + "\n";
    return lines;
}

// The whole console and stderr, for reading after the fact (Catch wraps INFO text).
std::string save_log(const std::string& out, const std::string& err)
{
    const std::string path = (std::filesystem::temp_directory_path() / "minivmm-linux-shutdown.log").string();
    std::ofstream(path) << out << "\n---- minivmm stderr ----\n" << err;
    return path;
}

// Console lines of the i8042/atkbd/serio drivers that report a failed wait or command.
std::vector<std::string> keyboard_driver_complaints(const std::string& out)
{
    static const std::regex kComplaint(R"((i8042|atkbd|serio).*(timeout|[Ff]ail|[Cc]an't|giving up|error))");
    std::vector<std::string> complaints;
    for (const auto& line : lines_of(out))
        if (std::regex_search(line, kComplaint))
            complaints.push_back(line);
    return complaints;
}

} // namespace

TEST_CASE("Linux slow: the API's shutdown reaches a stock Debian kernel through the i8042 (restart, exit 0)",
    "[linux][slow][shutdown]")
{
    if (!slow_tests_enabled()) {
        WARN("skipped: boots the Debian kernel to its keyboard driver, minutes on software KVM; set "
             "MINIVMM_SLOW_TESTS=1 to run it");
        return;
    }
    if (!kvm_available())
        return;
    const auto kernel = linux_image("DEBIAN_VMLINUX");
    if (!kernel)
        return;
    TempDir dir;
    const std::string socket = dir.file("api.sock");
    const auto started = std::chrono::steady_clock::now();
    BackgroundProcess vmm({minivmm_binary(), "run", "--kernel", *kernel, "--cpus", "1", "--memory", "256M",
                              "--cmdline", kCmdline, "--serial", "stdio", "--api-socket",
                              socket, "--timeout", "3600"},
        /*new_session=*/true);

    const bool keyboard = wait_for_console(vmm, kKeyboardRegistered, 2400s);
    const double to_keyboard = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!keyboard)
        WARN("the keyboard never registered; console log in " << save_log(vmm.out(), vmm.err()));
    REQUIRE(keyboard);

    // The API thread types Ctrl-Alt-Del; the kernel's restart must come well before this timeout.
    ProcessOptions options;
    options.timeout = 30s;
    const ProcessResult asked = run_process({minivmm_binary(), "ctl", socket, "shutdown", "--timeout", "600"}, options);
    INFO("ctl: " << asked.out << asked.err);
    REQUIRE(asked.exit_status == 0);
    const auto asked_at = std::chrono::steady_clock::now();
    const ProcessResult end = vmm.wait(660s);
    const double to_end = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked_at).count();
    INFO("stdout (guest console):\n" << end.out);
    INFO("stderr:\n" << end.err);

    const auto probe_start = printk_time(end.out, kI8042ProbeStart);
    const auto probe_end = printk_time(end.out, kKeyboardRegistered);
    WARN("Debian kernel: keyboard registered " << to_keyboard << " s wall after start; i8042 probe to atkbd bound "
                                               << (probe_start && probe_end ? *probe_end - *probe_start : -1)
                                               << " s guest time; VM ended " << to_end << " s after the shutdown\n"
                                               << keyboard_driver_lines(end.out)
                                               << "console log in " << save_log(end.out, end.err));
    CHECK(keyboard_driver_complaints(end.out).empty());
    CHECK(end.out.find(kRestarting) != std::string::npos);
    REQUIRE_FALSE(end.timed_out);
    CHECK(end.exit_status == kExitCleanShutdown);
}
