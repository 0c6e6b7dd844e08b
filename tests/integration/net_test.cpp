// virtio-net end to end on /dev/kvm with the `net` test guest (virtio 1.2 §5.1, "Network
// Device"): ARP and ICMP echo with the host's network stack through a tap, a tap minivmm creates
// itself, malformed transmit packets the device must drop (§5.1.6.2) while it keeps working, two
// VMs on one minivmm switch (same VLAN: they reach each other; different VLANs: isolated), and
// taps minivmm created disappearing when the VM ends, SIGTERM included.
//
// Every test builds its own network namespace (`ip netns add`), deleted by an RAII guard even when
// the test fails; minivmm runs inside it through `ip netns exec`. Addresses are only ever given
// to interfaces inside those namespaces. Needs root (CAP_NET_ADMIN for namespaces and taps) and
// /dev/kvm: without root the tests are skipped with a warning.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <sstream>
#include <thread>

#include "tests/integration/net_namespace.hpp"
#include "tests/integration/vmm_harness.hpp"

extern char** environ;

using namespace minivmm::testing;

namespace {

using namespace std::chrono_literals;

constexpr const char* kGuestMac = "52:54:00:00:10:02";
constexpr const char* kHostIp = "10.0.0.1";
constexpr const char* kGuestIp = "10.0.0.2";

bool net_tests_can_run()
{
    if (!kvm_available())
        return false;
    if (::geteuid() != 0) {
        WARN("not root: network namespaces and taps need CAP_NET_ADMIN; skipping this virtio-net test");
        return false;
    }
    return true;
}

// A process left running while the test does other things (stdout and stderr on pipes, read as
// they come), killed with SIGKILL on destruction if still there.
class Background {
public:
    explicit Background(const std::vector<std::string>& argv)
        : m_argv(argv)
    {
        int out[2], err[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err[1], 2);
        std::vector<char*> raw;
        for (auto& arg : m_argv)
            raw.push_back(arg.data());
        raw.push_back(nullptr);
        const int error = ::posix_spawn(&m_pid, raw[0], &actions, nullptr, raw.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        ::close(err[1]);
        m_out = out[0];
        m_err = err[0];
        REQUIRE(error == 0);
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    ~Background()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
        }
        ::close(m_out);
        ::close(m_err);
    }

    // Reads whatever arrives within `timeout` (until both pipes close).
    void pump(std::chrono::milliseconds timeout)
    {
        pollfd fds[2] = {{m_out_open ? m_out : -1, POLLIN, 0}, {m_err_open ? m_err : -1, POLLIN, 0}};
        if (!m_out_open && !m_err_open)
            return;
        if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0)
            return;
        char buffer[4096];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0)
                (i == 0 ? m_out_open : m_err_open) = false;
            else
                (i == 0 ? m_stdout : m_stderr).append(buffer, static_cast<std::size_t>(n));
        }
    }

    bool wait_for_line(const std::string& line, std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!has_line(m_stdout, line)) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline || (!m_out_open && !m_err_open))
                return false;
            pump(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
        }
        return true;
    }

    void signal(int sig) const { ::kill(m_pid, sig); }

    // Waits for the process to end (SIGKILL at the deadline: timed_out) and returns its result.
    ProcessResult wait(std::chrono::milliseconds timeout)
    {
        ProcessResult result;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        for (;;) {
            const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
            if (done == m_pid)
                break;
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(m_pid, SIGKILL);
                ::waitpid(m_pid, &status, 0);
                result.timed_out = true;
                break;
            }
            pump(50ms);
        }
        m_pid = -1;
        while (m_out_open || m_err_open)
            pump(1000ms);
        if (WIFEXITED(status))
            result.exit_status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            result.signal = WTERMSIG(status);
        result.out = m_stdout;
        result.err = m_stderr;
        return result;
    }

    [[nodiscard]] const std::string& out() const { return m_stdout; }
    [[nodiscard]] const std::string& err() const { return m_stderr; }

private:
    std::vector<std::string> m_argv;
    pid_t m_pid = -1;
    int m_out = -1;
    int m_err = -1;
    bool m_out_open = true;
    bool m_err_open = true;
    std::string m_stdout;
    std::string m_stderr;
};

// `minivmm run` of the net guest, as argv for NetNamespace::exec.
std::vector<std::string> net_vm(const std::string& net_option, const std::string& cmdline,
    std::vector<std::string> extra = {})
{
    std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", testguest("net"), "--memory", "32M",
        "--timeout", "120", "--net", net_option, "--cmdline", cmdline};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
}

ProcessResult run_in(const NetNamespace& ns, const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = 150s)
{
    auto full = ns.exec(argv);
    auto result = run_quiet(full, timeout);
    INFO(describe(full, result));
    REQUIRE_FALSE(result.timed_out);
    return result;
}

void check_no_sanitizer_report(const std::string& err)
{
    for (const char* marker : {"Sanitizer", "runtime error:", "Assertion", "internal error"}) {
        INFO("stderr: " << err);
        CHECK(err.find(marker) == std::string::npos);
    }
}

// The net guest's success protocol (README: `net`): ARP reply from the host's tap, ping ok.
void check_ping_run(const ProcessResult& result, const std::string& host_mac)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.signal == 0);
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, std::string("net: mac ") + kGuestMac));
    CHECK(has_line(result.out, "net: ready"));
    CHECK(has_line(result.out, std::string("net: arp reply from ") + kHostIp + " is " + host_mac));
    CHECK(has_line(result.out, "net: ping reply ok"));
    CHECK(has_line(result.out, "net: done"));
    CHECK(result.out.find("FAILED") == std::string::npos);
    CHECK(result.out.find("net: rx errors") == std::string::npos);
    check_no_sanitizer_report(result.err);
}

std::uint64_t features_of(const std::string& out)
{
    const std::string prefix = "net: features 0x";
    for (const auto& line : lines_of(out))
        if (line.rfind(prefix, 0) == 0)
            return std::stoull(line.substr(prefix.size()), nullptr, 16);
    FAIL("no '" << prefix << "' line in: " << out);
    return 0;
}

constexpr std::uint64_t kMrgRxbuf = std::uint64_t(1) << 15; // VIRTIO_NET_F_MRG_RXBUF (§5.1.3)

std::string guest_cmdline(const std::string& extra = {})
{
    return std::string("net.ip=") + kGuestIp + " net.peer=" + kHostIp + (extra.empty() ? "" : " " + extra);
}

} // namespace

TEST_CASE("virtio-v1.2 §5.1.6: the net guest ARPs and pings the host stack through an existing tap, with and without "
          "VIRTIO_NET_F_MRG_RXBUF",
    "[guest][net]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    ns.add_tap_with_address("nt0", std::string(kHostIp) + "/24");
    const std::string host_mac = ns.mac_of("nt0");
    const std::string option = std::string("tap=nt0,mac=") + kGuestMac;

    // Whatever the device offers (MRG_RXBUF accepted when offered).
    auto first = run_in(ns, net_vm(option, guest_cmdline()));
    // (The echo reply proves the host resolved the guest's address: it learnt the MAC from the
    // guest's ARP request, RFC 826. The entry itself is flushed when the tap loses its carrier at
    // exit, so it cannot be checked afterwards.)
    check_ping_run(first, host_mac);
    // The tap was the test's: minivmm leaves it in place.
    CHECK(ns.has_link("nt0"));

    // §5.1.6.3.1: no MRG_RXBUF, one 2048-byte buffer per packet.
    auto no_mrg = run_in(ns, net_vm(option, guest_cmdline("net.mrg=0")));
    check_ping_run(no_mrg, host_mac);
    CHECK((features_of(no_mrg.out) & kMrgRxbuf) == 0);

    // §5.1.6.4: with MRG_RXBUF and 64-byte receive buffers every reply spans several buffers
    // (num_buffers > 1), which the guest joins.
    if (features_of(first.out) & kMrgRxbuf) {
        auto merged = run_in(ns, net_vm(option, guest_cmdline("net.rxbuf=64")));
        check_ping_run(merged, host_mac);
    } else {
        WARN("the device does not offer VIRTIO_NET_F_MRG_RXBUF: the merged-buffer run is skipped");
    }
}

TEST_CASE("--net tap=NAME creates a missing tap, the guest pings through it, and it is gone after the VM exits",
    "[guest][net]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    const std::string tap = "ntnew0";
    REQUIRE_FALSE(ns.has_link(tap));
    Background vm(ns.exec(net_vm(std::string("tap=") + tap + ",mac=" + kGuestMac, guest_cmdline())));
    // minivmm creates the tap before the guest runs; the guest ARPs for ~8 s, plenty of time to
    // give the new interface the host address.
    if (!ns.wait_link(tap, true, 20s)) {
        vm.pump(1s);
        FAIL("the tap did not appear; the VM printed: " << vm.out() << vm.err());
    }
    const std::string host_mac = ns.mac_of(tap);
    ns.ip({"addr", "add", std::string(kHostIp) + "/24", "dev", tap});
    ns.ip({"link", "set", tap, "up"});
    const auto result = vm.wait(150s);
    REQUIRE_FALSE(result.timed_out);
    check_ping_run(result, host_mac);
    // A tap minivmm created is not persistent: it goes with the VMM's file descriptor.
    CHECK(ns.wait_link(tap, false, 5s));
}

TEST_CASE("virtio-v1.2 §5.1.6.2: malformed transmit packets are dropped and counted, the VMM survives and the guest "
          "still pings",
    "[guest][net]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    ns.add_tap_with_address("nt0", std::string(kHostIp) + "/24");
    const std::string host_mac = ns.mac_of("nt0");
    auto result = run_in(ns, net_vm(std::string("tap=nt0,mac=") + kGuestMac, guest_cmdline("net.mode=malformed"),
        {"--limits-report"}));
    check_ping_run(result, host_mac);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    // Each broken chain comes back in the used ring (the device returns dropped transmit buffers,
    // written with nothing) and the device stays usable: no DEVICE_NEEDS_RESET.
    for (const char* probe : {"short", "gso-unnegotiated", "oversized", "writable-descriptor"}) {
        INFO("probe " << probe);
        CHECK(has_line(result.out, std::string("net: malformed ") + probe + " returned=1 needs-reset=0"));
        // Forwarded probes are echo requests the host would have answered.
        CHECK(result.out.find(std::string("net: malformed ") + probe + " forwarded") == std::string::npos);
    }
    CHECK(result.out.find("net: resetting the device") == std::string::npos);
    // The device logs each drop with its reason, one line per chain, and nothing else dropped.
    int dropped = 0;
    for (const auto& line : lines_of(result.err))
        if (line.find("transmit chain") != std::string::npos && line.find("dropped") != std::string::npos)
            ++dropped;
    CHECK(dropped == 4);
    // --limits-report prints the device's counters at exit: the four malformed drops, and the
    // guest's real traffic forwarded: every well-formed frame the guest says it sent (ARP and
    // echo request, plus retries and ARP answers when the host is slow), no more, no less.
    const std::string sent_prefix = "net: sent ";
    std::string sent_frames;
    for (const auto& line : lines_of(result.out))
        if (line.rfind(sent_prefix, 0) == 0)
            sent_frames = line.substr(sent_prefix.size()); // "N frames"
    REQUIRE(!sent_frames.empty());
    CHECK(std::stoul(sent_frames) >= 2);
    int counter_lines = 0;
    for (const auto& line : lines_of(result.err)) {
        if (line.rfind("  net0: ", 0) != 0)
            continue;
        ++counter_lines;
        INFO("counter line: " << line);
        CHECK(line.find("tx malformed 4,") != std::string::npos);
        CHECK(line.find("tx " + sent_frames + " ") != std::string::npos);
    }
    CHECK(counter_lines == 1);
    // The host side saw none of them: nothing but the guest's real traffic reached the tap.
    CHECK(ns.has_link("nt0"));
}

namespace {

// Bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING) in the running kernel, probed in `ns`.
bool kernel_has_bridge_vlan_filtering(const NetNamespace& ns)
{
    const auto result = run_quiet({ip_binary(), "-n", ns.name(), "link", "add", "mvprobe0", "type", "bridge",
        "vlan_filtering", "1"});
    (void)run_quiet({ip_binary(), "-n", ns.name(), "link", "del", "mvprobe0"});
    return result.exit_status == 0;
}

bool switch_tests_can_run(const NetNamespace& ns)
{
    if (kernel_has_bridge_vlan_filtering(ns))
        return true;
    WARN("this kernel has no bridge VLAN filtering (ip link add ... type bridge vlan_filtering 1 fails: "
         "CONFIG_BRIDGE_VLAN_FILTERING is off): the switch/VLAN tests cannot run here");
    return false;
}

std::vector<std::string> minivmm_switch(std::vector<std::string> args)
{
    args.insert(args.begin(), {minivmm_binary(), "switch"});
    return args;
}

std::string pair_cmdline(const std::string& role, const std::string& ip, const std::string& peer,
    const std::string& extra = {})
{
    return "net.mode=pair net.role=" + role + " net.ip=" + ip + " net.peer=" + peer + (extra.empty() ? "" : " " + extra);
}

// Links left in the namespace besides lo and the switch itself.
std::vector<std::string> leftover_links(const NetNamespace& ns, const std::string& switch_name)
{
    std::vector<std::string> left;
    for (const auto& link : ns.links())
        if (link != "lo" && link != switch_name)
            left.push_back(link);
    return left;
}

} // namespace

TEST_CASE("two VMs whose taps sit on one Linux bridge ping each other (the pair guests, no minivmm switch)",
    "[guest][net]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    // The test builds the L2 segment itself, so this runs on kernels without bridge VLAN
    // filtering too (the switch tests below need it).
    ns.ip({"link", "add", "mvbr0", "type", "bridge"});
    ns.ip({"link", "set", "mvbr0", "up"});
    for (const char* tap : {"ntpa", "ntpb"}) {
        ns.ip({"tuntap", "add", "dev", tap, "mode", "tap"});
        ns.ip({"link", "set", tap, "master", "mvbr0"});
        ns.ip({"link", "set", tap, "up"});
    }
    Background b(ns.exec(net_vm("tap=ntpb,mac=52:54:00:00:20:0b", pair_cmdline("b", "10.0.2.11", "10.0.2.10", "net.wait=25"))));
    INFO("B so far: " << b.out() << b.err());
    REQUIRE(b.wait_for_line("net: ready", 60s));
    auto a = run_in(ns, net_vm("tap=ntpa,mac=52:54:00:00:20:0a", pair_cmdline("a", "10.0.2.10", "10.0.2.11")));
    const auto b_result = b.wait(120s);
    INFO("A stdout: " << a.out << "\nA stderr: " << a.err << "\nB stdout: " << b_result.out << "\nB stderr: "
                      << b_result.err);
    REQUIRE_FALSE(b_result.timed_out);
    CHECK(a.exit_status == 0);
    CHECK(has_line(a.out, "net: arp reply from 10.0.2.11 is 52:54:00:00:20:0b"));
    CHECK(has_line(a.out, "net: ping reply ok"));
    CHECK(b_result.exit_status == 0);
    CHECK(has_line(b_result.out, "net: answered ping from 10.0.2.10"));
    check_no_sanitizer_report(a.err);
    check_no_sanitizer_report(b_result.err);
}

TEST_CASE("two VMs on one switch reach each other in the same VLAN and are isolated in different VLANs; their taps go "
          "with them",
    "[guest][net][switch]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    if (!switch_tests_can_run(ns))
        return;
    const std::string sw = "mvsw0";
    auto created = run_in(ns, minivmm_switch({"create", sw, "--vlan-filtering"}), 30s);
    REQUIRE(created.exit_status == 0);

    int vlan_b = 0;
    bool same = false;
    SECTION("same VLAN: A pings B")
    {
        vlan_b = 10;
        same = true;
    }
    SECTION("different VLANs: A's ARP gets no answer, B times out")
    {
        vlan_b = 20;
    }
    // B waits 25 wait units (about 25 s here) for a ping: longer than A's 8 ARP tries.
    Background b(ns.exec(net_vm("switch=" + sw + ",vlan=" + std::to_string(vlan_b) + ",mac=52:54:00:00:20:0b",
        pair_cmdline("b", "10.0.2.11", "10.0.2.10", "net.wait=25"))));
    INFO("B so far: " << b.out() << b.err());
    REQUIRE(b.wait_for_line("net: ready", 60s));
    auto a = run_in(ns, net_vm("switch=" + sw + ",vlan=10,mac=52:54:00:00:20:0a", pair_cmdline("a", "10.0.2.10", "10.0.2.11")));
    const auto b_result = b.wait(120s);
    INFO("A stdout: " << a.out << "\nA stderr: " << a.err << "\nB stdout: " << b_result.out << "\nB stderr: "
                      << b_result.err);
    REQUIRE_FALSE(b_result.timed_out);
    if (same) {
        CHECK(a.exit_status == 0);
        CHECK(has_line(a.out, "net: arp reply from 10.0.2.11 is 52:54:00:00:20:0b"));
        CHECK(has_line(a.out, "net: ping reply ok"));
        CHECK(b_result.exit_status == 0);
        CHECK(has_line(b_result.out, "net: answered ping from 10.0.2.10"));
    } else {
        CHECK(a.exit_status == 1);
        CHECK(has_line(a.out, "net: arp FAILED (no reply from 10.0.2.11 after 8 requests)"));
        CHECK(b_result.exit_status == 2);
        CHECK(has_line(b_result.out, "net: responder timed out"));
    }
    check_no_sanitizer_report(a.err);
    check_no_sanitizer_report(b_result.err);
    // Both VMs' taps left the switch and the host with them.
    std::vector<std::string> left;
    for (int i = 0; i < 50 && !(left = leftover_links(ns, sw)).empty(); ++i)
        std::this_thread::sleep_for(100ms);
    INFO("links left: " << left.size());
    CHECK(left.empty());
    auto deleted = run_in(ns, minivmm_switch({"delete", sw}), 30s);
    CHECK(deleted.exit_status == 0);
}

TEST_CASE("a tap minivmm created is gone after the VMM ends on SIGTERM (tap=NAME and switch ports)", "[guest][net]")
{
    if (!net_tests_can_run())
        return;
    NetNamespace ns;
    std::string option;
    std::string sw;
    SECTION("--net tap=NAME") { option = std::string("tap=ntterm0,mac=") + kGuestMac; }
    SECTION("--net switch=NAME,vlan=ID")
    {
        if (!switch_tests_can_run(ns))
            return;
        sw = "mvsw1";
        REQUIRE(run_in(ns, minivmm_switch({"create", sw, "--vlan-filtering"}), 30s).exit_status == 0);
        option = "switch=" + sw + ",vlan=30,mac=" + std::string(kGuestMac);
    }
    const auto before = ns.links();
    // The responder waits (long) for a ping that never comes.
    Background vm(ns.exec(net_vm(option, pair_cmdline("b", kGuestIp, kHostIp, "net.wait=600"))));
    INFO("VM output: " << vm.out() << vm.err());
    REQUIRE(vm.wait_for_line("net: ready", 60s));
    const auto during = ns.links();
    REQUIRE(during.size() == before.size() + 1);
    std::string tap;
    for (const auto& link : during)
        if (std::find(before.begin(), before.end(), link) == before.end())
            tap = link;
    INFO("the VM's tap: " << tap);
    vm.signal(SIGTERM);
    const auto result = vm.wait(30s);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK_FALSE(result.timed_out);
    CHECK(result.signal == 0);  // minivmm handles SIGTERM and exits on its own
    CHECK(ns.wait_link(tap, false, 5s));
    CHECK(ns.links().size() == before.size());
    check_no_sanitizer_report(result.err);
    if (!sw.empty())
        CHECK(run_in(ns, minivmm_switch({"delete", sw}), 30s).exit_status == 0);
}
