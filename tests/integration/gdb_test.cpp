// The gdb stub end to end (README.md, "Debugging with gdb"): `minivmm run --gdb unix:PATH` with
// the `gdbtarget` and `smp` test guests on /dev/kvm, driven by Debian's real gdb in batch mode
// and, for Ctrl-C and hostile input, by raw Remote Serial Protocol bytes on the socket
// ("Debugging with GDB" appendix E). Each test checks what a user sees: gdb's own report lines,
// the guest's console and minivmm's exit status.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "tests/integration/linux_guest.hpp"
#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kExitInterrupted = 130; // `k` from gdb ends the VM like Ctrl-A x (README "Exit codes")

// Debian's gdb (tools/install-deps.sh). Missing: a failure under CI=true, a skip elsewhere.
std::optional<std::string> gdb_binary()
{
    for (const char* path : {"/usr/bin/gdb", "/usr/local/bin/gdb"})
        if (::access(path, X_OK) == 0)
            return std::string(path);
    if (running_in_ci())
        FAIL("gdb is not installed (tools/install-deps.sh installs it) and CI=true");
    WARN("gdb is not installed: skipping this gdb stub test");
    return std::nullopt;
}

// What a gdb test needs from the host: /dev/kvm and gdb; nullopt (after the harness's skip or
// CI failure) when either is missing.
std::optional<std::string> gdb_for_test()
{
    if (!kvm_available())
        return std::nullopt;
    return gdb_binary();
}

bool contains(const std::string& text, const std::string& wanted) { return text.find(wanted) != std::string::npos; }

// A VM with the gdb stub on a Unix socket in a scratch directory (or on TCP).
struct GdbVm {
    TempDir dir;
    std::string socket = dir.file("gdb.sock");
    std::unique_ptr<BackgroundProcess> vmm;

    // `guest`: a test guest's name, or a path to a kernel. `tcp`: on 127.0.0.1 with a port the
    // kernel picks (minivmm prints it), instead of the Unix socket.
    GdbVm(const std::string& guest, std::vector<std::string> args, const std::string& memory = "16M", bool tcp = false)
    {
        const std::string kernel = guest.find('/') == std::string::npos ? testguest(guest) : guest;
        std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", kernel, "--memory", memory,
            "--timeout", "120", "--gdb", tcp ? "tcp:127.0.0.1:0" : "unix:" + socket};
        argv.insert(argv.end(), args.begin(), args.end());
        vmm = std::make_unique<BackgroundProcess>(argv);
        if (tcp) {
            // "minivmm: gdb stub listening on tcp:127.0.0.1:PORT ..." on stderr.
            const std::string marker = "listening on tcp:";
            const auto deadline = std::chrono::steady_clock::now() + 20s;
            while (!contains(vmm->err(), marker) && std::chrono::steady_clock::now() < deadline)
                vmm->read_for(20ms);
            const auto at = vmm->err().find(marker);
            INFO("minivmm stderr: " << vmm->err());
            REQUIRE(at != std::string::npos);
            const std::string rest = vmm->err().substr(at + marker.size());
            socket = rest.substr(0, rest.find_first_of(" \n")); // "127.0.0.1:PORT", what gdb takes
            return;
        }
        // The socket listens before the VM is built: once the file exists, gdb can connect.
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!std::filesystem::exists(socket) && std::chrono::steady_clock::now() < deadline)
            vmm->read_for(20ms);
        INFO("minivmm stderr: " << vmm->err());
        REQUIRE(std::filesystem::exists(socket));
    }

    // gdb -batch on the guest's ELF: `target remote SOCKET`, then `commands`.
    ProcessResult gdb(const std::string& gdb_path, const std::string& elf, const std::vector<std::string>& commands)
    {
        std::vector<std::string> argv {gdb_path, "-batch", "-nx", "-ex", "set pagination off", "-ex",
            "target remote " + socket};
        for (const auto& command : commands) {
            argv.push_back("-ex");
            argv.push_back(command);
        }
        argv.push_back(elf);
        ProcessOptions options;
        options.timeout = 120s;
        ProcessResult result = run_process(argv, options);
        INFO("gdb stdout: " << result.out << "\ngdb stderr: " << result.err);
        REQUIRE_FALSE(result.timed_out);
        return result;
    }
};

// The gdbtarget guest ran to its end under gdb: gdb saw its exit status (7), minivmm exited with
// it, and the guest's sum of rounds (1 + 2 + 3 + 100) is what it would be without gdb.
void check_gdbtarget_finished(GdbVm& vm, const ProcessResult& gdb)
{
    CHECK(contains(gdb.out, "[Inferior 1 (Remote target) exited with code 07]"));
    const ProcessResult vmm = vm.vmm->wait(30s);
    INFO("minivmm stdout: " << vmm.out << "\nminivmm stderr: " << vmm.err);
    CHECK(vmm.exit_status == 7);
    CHECK(has_line(vmm.out, "gdbtarget: counter 106"));
}

// A raw RSP client on the stub's Unix socket.
class RawGdb {
public:
    explicit RawGdb(const std::string& path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address {};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::connect(m_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    }
    ~RawGdb() { close(); }
    void close()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
    void send_raw(const std::string& bytes) { REQUIRE(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size())); }
    void send_packet(const std::string& payload)
    {
        unsigned sum = 0;
        for (const char c : payload)
            sum += static_cast<unsigned char>(c);
        char checksum[3];
        std::snprintf(checksum, sizeof checksum, "%02x", sum & 0xff);
        send_raw("$" + payload + "#" + checksum);
    }
    // Reads until `wanted` appears in what came back (acks included); everything read so far.
    std::string read_until(const std::string& wanted, std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!contains(m_received, wanted)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                break;
            pollfd in {m_fd, POLLIN, 0};
            if (::poll(&in, 1, static_cast<int>(left.count())) <= 0)
                break;
            char buffer[4096];
            const ssize_t got = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (got <= 0)
                break;
            m_received.append(buffer, static_cast<std::size_t>(got));
        }
        return m_received;
    }
    // The reply to `payload`: the next `$...#xx` after the request.
    std::string exchange(const std::string& payload, std::chrono::milliseconds timeout = 10s)
    {
        m_received.clear();
        send_packet(payload);
        const std::string got = read_until("#", timeout);
        const auto start = got.find('$');
        const auto end = got.find('#', start == std::string::npos ? 0 : start);
        if (start == std::string::npos || end == std::string::npos)
            return "<no reply: " + got + ">";
        return got.substr(start + 1, end - start - 1);
    }
    void clear() { m_received.clear(); }

private:
    int m_fd = -1;
    std::string m_received;
};

} // namespace

TEST_CASE("gdb: break on a function, read a variable and a register, step, hardware breakpoint, watchpoint, exit status",
    "[gdb]")
{
    const auto gdb_path = gdb_for_test();
    if (!gdb_path)
        return;
    GdbVm vm("gdbtarget", {"--gdb-wait"});
    const ProcessResult gdb = vm.gdb(*gdb_path, testguest("gdbtarget"),
        {"break gdb_break_here", "continue", "print gdb_counter", "print/x $eip == gdb_break_here", "stepi",
            "print $eip > gdb_break_here", "continue", "print gdb_counter", "delete", "hbreak gdb_hw_here", "continue",
            "print gdb_counter", "delete", "watch gdb_watched", "continue", "print/x gdb_watched", "delete", "continue"});
    INFO("gdb stdout: " << gdb.out << "\ngdb stderr: " << gdb.err);
    // The first stop at the breakpoint: the guest has not added anything yet.
    CHECK(contains(gdb.out, "Breakpoint 1, gdb_break_here (round=round@entry=1)"));
    CHECK(contains(gdb.out, "$1 = 0\n"));
    CHECK(contains(gdb.out, "$2 = 0x1\n")); // eip is the function's address
    CHECK(contains(gdb.out, "$3 = 1\n"));   // one instruction later
    CHECK(contains(gdb.out, "Breakpoint 1, gdb_break_here (round=round@entry=2)"));
    CHECK(contains(gdb.out, "$4 = 1\n")); // round 1 was added
    CHECK(contains(gdb.out, "Hardware assisted breakpoint 2 at"));
    CHECK(contains(gdb.out, "gdb_hw_here () at"));
    CHECK(contains(gdb.out, "$5 = 6\n")); // rounds 1 + 2 + 3
    CHECK(contains(gdb.out, "Hardware watchpoint 3: gdb_watched"));
    CHECK(contains(gdb.out, "Old value = 0\nNew value = 4660"));
    CHECK(contains(gdb.out, "$6 = 0x1234\n"));
    check_gdbtarget_finished(vm, gdb);
}

TEST_CASE("gdb: segment selectors, control and SSE registers are written; a load the CPU would refuse is an error",
    "[gdb]")
{
    const auto gdb_path = gdb_for_test();
    if (!gdb_path)
        return;
    GdbVm vm("gdbtarget", {"--gdb-wait"});
    const ProcessResult gdb = vm.gdb(*gdb_path, testguest("gdbtarget"),
        {"break gdb_break_here", "continue", "set $es = 0", "print $es", "set $es = $ds", "print $es == $ds",
            "set $fs = 0xfff8", "print $fs == $ds", "set $cr2 = 0x1234", "print/x $cr2", "set $cr4 = 0xffffffff",
            "print $cr4 != 0xffffffff", "set $fctrl = 0x37e", "print/x $fctrl", "set $xmm1.v4_int32[2] = 7",
            "print $xmm1.v4_int32[2]", "delete", "continue"});
    INFO("gdb stdout: " << gdb.out << "\ngdb stderr: " << gdb.err);
    CHECK(contains(gdb.out, "$1 = 0\n"));          // a null selector in ES
    CHECK(contains(gdb.out, "$2 = 1\n"));          // ES loaded from the GDT again
    CHECK(contains(gdb.err, "Could not write register \"fs\"")); // beyond the GDT's limit
    CHECK(contains(gdb.out, "$3 = 1\n"));          // FS kept its selector
    CHECK(contains(gdb.out, "$4 = 0x1234\n"));     // CR2
    CHECK(contains(gdb.err, "Could not write register \"cr4\"")); // reserved bits: KVM refuses
    CHECK(contains(gdb.out, "$5 = 1\n"));
    // x87 and SSE through KVM_SET_FPU (MXCSR too on hardware KVM; this host's FPU state does not
    // hold MXCSR, README "Debugging with gdb").
    CHECK(contains(gdb.out, "$6 = 0x37e\n"));
    CHECK(contains(gdb.out, "$7 = 7\n"));
    // The guest runs on with the selectors it had (ES is back, string instructions work).
    check_gdbtarget_finished(vm, gdb);
}

TEST_CASE("gdb over TCP: the guest's own int3 goes to the guest's handler while gdb's breakpoints are in", "[gdb]")
{
    const auto gdb_path = gdb_for_test();
    if (!gdb_path)
        return;
    GdbVm vm("breakpoint", {"--gdb-wait"}, "16M", true);
    // exit_vm's breakpoint is inserted (an int3 of ours, KVM_GUESTDBG_USE_SW_BP on) while the
    // guest runs its own int3 first: that one must reach the guest's #BP handler, once.
    const ProcessResult gdb = vm.gdb(*gdb_path, testguest("breakpoint"), {"break exit_vm", "continue", "continue"});
    INFO("gdb stdout: " << gdb.out << "\ngdb stderr: " << gdb.err);
    CHECK(contains(gdb.out, "Breakpoint 1, exit_vm (status=0 "));
    CHECK(contains(gdb.out, "[Inferior 1 (Remote target) exited normally]"));
    const ProcessResult vmm = vm.vmm->wait(30s);
    INFO("minivmm stdout: " << vmm.out << "\nminivmm stderr: " << vmm.err);
    CHECK(has_line(vmm.out, "breakpoint: handler ran 1 time(s), saved eip = int3 + 1"));
    CHECK(vmm.exit_status == 0);
}

TEST_CASE("gdb: info threads lists every vCPU; a breakpoint on a second vCPU stops it (all-stop); detach lets the "
          "guest run to its own exit status",
    "[gdb]")
{
    const auto gdb_path = gdb_for_test();
    if (!gdb_path)
        return;
    GdbVm vm("smp", {"--cpus", "3", "--gdb-wait"});
    const ProcessResult gdb = vm.gdb(*gdb_path, testguest("smp"),
        {"info threads", "break ap_main", "continue", "print $_thread > 1", "delete", "detach"});
    INFO("gdb stdout: " << gdb.out << "\ngdb stderr: " << gdb.err);
    CHECK(contains(gdb.out, "Thread 1 (vCPU 0)"));
    CHECK(contains(gdb.out, "Thread 2 (vCPU 1)"));
    CHECK(contains(gdb.out, "Thread 3 (vCPU 2)"));
    // ap_main runs only on the application processors: the stop names one of them.
    CHECK(contains(gdb.out, "hit Breakpoint 1, ap_main ()"));
    CHECK(contains(gdb.out, "$1 = 1\n"));
    CHECK(contains(gdb.out, "[Inferior 1 (Remote target) detached]"));
    const ProcessResult vmm = vm.vmm->wait(60s);
    INFO("minivmm stdout: " << vmm.out << "\nminivmm stderr: " << vmm.err);
    CHECK(has_line(vmm.out, "smp: all 3 cpus online"));
    CHECK(vmm.exit_status == 0);
}

TEST_CASE("gdb: Ctrl-C stops a spinning guest; hostile packets get errors; a disconnect leaves it running for the next gdb",
    "[gdb]")
{
    if (!kvm_available())
        return;
    GdbVm vm("gdbtarget", {"--cmdline", "gdb.mode=spin"});
    REQUIRE(vm.vmm->wait_for_line("gdbtarget: spinning", 30s));
    {
        RawGdb raw(vm.socket);
        // Attaching stops the machine (E.4: `?` tells why).
        CHECK(raw.exchange("?") == "T05thread:1;");
        // Broken frames: a bad checksum is nacked, junk and over-long packets do not wedge the
        // stream, malformed commands are error replies.
        raw.clear();
        raw.send_raw("$g#00");
        CHECK(contains(raw.read_until("-", 5s), "-"));
        raw.send_raw("$" + std::string(20000, 'm') + "#00");
        CHECK(raw.exchange("m0,zz") == "E01");
        CHECK(raw.exchange("mffffffff,4") == "E14"); // unmapped: an error, never a crash
        CHECK(raw.exchange("Z0,ffffffff,1") == "E14");
        CHECK(raw.exchange("X100000,3:}") == "E01");
        CHECK(raw.exchange("qXfer:features:read:target.xml:0,7") == "m<?xml v");
        // Continue, then Ctrl-C (E.8): the spinning vCPU stops with SIGINT.
        raw.clear();
        raw.send_packet("c");
        CHECK(raw.read_until("+", 5s) == "+");
        raw.clear();
        raw.send_raw("\x03");
        const std::string stop = raw.read_until("#", 30s);
        CHECK(contains(stop, "$T02thread:1;#"));
        // The connection breaks while the guest runs: the stub detaches all the same and the
        // guest runs on.
        raw.clear();
        raw.send_packet("c");
        CHECK(raw.read_until("+", 5s) == "+");
        raw.close();
    }
    // The next gdb attaches to the still-running guest.
    {
        RawGdb raw(vm.socket);
        CHECK(raw.exchange("?") == "T05thread:1;");
        CHECK(raw.exchange("qC") == "QC1");
        raw.clear();
        raw.send_packet("k");
        raw.read_until("+", 5s);
    }
    const ProcessResult vmm = vm.vmm->wait(30s);
    INFO("minivmm stdout: " << vmm.out << "\nminivmm stderr: " << vmm.err);
    CHECK(vmm.exit_status == kExitInterrupted);
    CHECK(contains(vmm.err, "gdb: packet rejected"));
}

TEST_CASE("gdb: Ctrl-C in gdb stops a spinning guest (SIGINT), then kill ends minivmm", "[gdb]")
{
    const auto gdb_path = gdb_for_test();
    if (!gdb_path)
        return;
    GdbVm vm("gdbtarget", {"--cmdline", "gdb.mode=spin"});
    REQUIRE(vm.vmm->wait_for_line("gdbtarget: spinning", 30s));
    // gdb's packet log (stderr) says when the continue has been sent: the marker to wait for
    // before pressing "Ctrl-C" (SIGINT to gdb, which then sends 0x03, E.8 "Interrupts").
    BackgroundProcess gdb({*gdb_path, "-batch", "-nx", "-ex", "set debug remote 1", "-ex", "target remote " + vm.socket,
        "-ex", "continue", "-ex", "set debug remote 0", "-ex", "info registers eip", "-ex", "kill",
        testguest("gdbtarget")});
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!contains(gdb.err(), "Sending packet: $vCont;c") && std::chrono::steady_clock::now() < deadline)
        gdb.read_for(20ms);
    INFO("gdb stderr: " << gdb.err());
    REQUIRE(contains(gdb.err(), "Sending packet: $vCont;c"));
    REQUIRE(::kill(gdb.pid(), SIGINT) == 0);
    const ProcessResult result = gdb.wait(60s);
    INFO("gdb stdout: " << result.out);
    CHECK(contains(result.out, "Program received signal SIGINT, Interrupt."));
    CHECK(contains(result.out, "eip            0x"));
    CHECK(contains(result.out, "[Inferior 1 (Remote target) killed]"));
    CHECK(vm.vmm->wait(30s).exit_status == kExitInterrupted);
}

TEST_CASE("gdb: --gdb-wait without --gdb and a malformed --gdb address are one-line usage errors", "[gdb]")
{
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--gdb-wait"}), "--gdb-wait needs --gdb");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--gdb", "serial:/dev/ttyS0"}), "--gdb serial:/dev/ttyS0");
    check_one_error_line(run_vmm({"--kernel", testguest("hello"), "--gdb", "tcp:127.0.0.1:99999"}), "port");
}

// Not a slow test: the kernel reaches start_kernel within seconds even where KVM is
// software-emulated (tools/test.sh always builds the minimal kernel for it).
TEST_CASE("gdb: the minimal kernel's vmlinux stops at start_kernel with a backtrace", "[gdb][linux]")
{
    const auto gdb_path = gdb_for_test();
    const auto vmlinux = linux_image("MINIMAL_VMLINUX");
    if (!gdb_path || !vmlinux)
        return;
    // --gdb-wait stops the kernel at its 32-bit PVH entry, paging off: start_kernel's address is
    // not mapped yet, so a software breakpoint cannot be written there; a hardware one can.
    GdbVm vm(*vmlinux, {"--cmdline", "console=ttyS0", "--gdb-wait"}, "256M");
    const ProcessResult gdb = vm.gdb(*gdb_path, *vmlinux, {"hbreak start_kernel", "continue", "bt",
        // Long mode's registers: a selector loaded from the kernel's GDT, the FS base, CR8.
        "set $es = $ss", "print $es == $ss", "set $fs_base = 0x12345000", "print/x $fs_base", "set $cr8 = 3",
        "print $cr8", "kill"});
    INFO("gdb stdout: " << gdb.out << "\ngdb stderr: " << gdb.err);
    CHECK(contains(gdb.out, "$1 = 1\n"));
    CHECK(contains(gdb.out, "$2 = 0x12345000\n"));
    CHECK(contains(gdb.out, "$3 = 3\n"));
    CHECK(contains(gdb.out, "in start_kernel ()"));
    CHECK(contains(gdb.out, "#1  0x"));
    CHECK(contains(gdb.out, "secondary_startup_64"));
    CHECK(vm.vmm->wait(30s).exit_status == kExitInterrupted);
}
