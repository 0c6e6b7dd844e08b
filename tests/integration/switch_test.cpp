// `minivmm switch ...` against the real kernel bridge (Documentation/networking/bridge.rst,
// bridge(8)), each test inside a network namespace it creates with `ip netns add` and removes on
// every exit path: the host's own interfaces are never touched. Needs root (CAP_NET_ADMIN); skips
// with a WARN otherwise. The VLAN checks need a kernel with CONFIG_BRIDGE_VLAN_FILTERING; without
// it they check the one-line refusal instead and WARN that the VLAN path was not exercised.
#include <unistd.h>

#include <atomic>
#include <sstream>

#include "tests/integration/vmm_harness.hpp"

using namespace minivmm::testing;

namespace {
std::string find_tool(const std::string& name)
{
    for (const char* dir : { "/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/" })
        if (::access((std::string(dir) + name).c_str(), X_OK) == 0)
            return std::string(dir) + name;
    return {};
}

// Root and iproute2 are what these tests need: without root they are skipped with a WARN (also
// under CI=true); as root a missing `ip`/`bridge` under CI=true is a failure.
bool switch_tests_can_run()
{
    if (::geteuid() != 0) {
        WARN("not root: skipping the switch integration test (it needs CAP_NET_ADMIN in a network namespace)");
        return false;
    }
    if (find_tool("ip").empty() || find_tool("bridge").empty()) {
        if (running_in_ci())
            FAIL("iproute2 (ip, bridge) is missing and CI=true: the switch integration tests cannot run");
        WARN("iproute2 (ip, bridge) is missing: skipping the switch integration test");
        return false;
    }
    return true;
}

// A network namespace `minivmm-test-<pid>-<n>`, deleted by the destructor whatever the test did
// (`ip netns del` also destroys every interface made inside it).
class TestNamespace {
public:
    TestNamespace()
        : m_name("minivmm-test-" + std::to_string(::getpid()) + "-" + std::to_string(s_counter++))
        , m_ip(find_tool("ip"))
    {
        const auto result = run_process({ m_ip, "netns", "add", m_name });
        INFO("ip netns add: " << result.err);
        REQUIRE(result.exit_status == 0);
    }
    ~TestNamespace() { (void)run_process({ m_ip, "netns", "del", m_name }); }
    TestNamespace(const TestNamespace&) = delete;
    TestNamespace& operator=(const TestNamespace&) = delete;

    // `argv` run inside the namespace.
    ProcessResult exec(std::vector<std::string> argv) const
    {
        argv.insert(argv.begin(), { m_ip, "netns", "exec", m_name });
        ProcessOptions options;
        options.timeout = std::chrono::seconds(20);
        ProcessResult result = run_process(argv, options);
        REQUIRE_FALSE(result.timed_out);
        return result;
    }
    // `minivmm switch <args>` inside the namespace.
    ProcessResult minivmm_switch(std::vector<std::string> args) const
    {
        args.insert(args.begin(), { minivmm_binary(), "switch" });
        return exec(std::move(args));
    }
    // A command that must succeed; its stdout.
    std::string must(std::vector<std::string> argv) const
    {
        const auto result = exec(argv);
        INFO("command: " << argv[0] << (argv.size() > 1 ? " " + argv[1] : "") << "\nstdout: " << result.out
                         << "\nstderr: " << result.err);
        REQUIRE(result.exit_status == 0);
        return result.out;
    }
    std::string ip(std::vector<std::string> args) const
    {
        args.insert(args.begin(), find_tool("ip"));
        return must(std::move(args));
    }
    std::string bridge(std::vector<std::string> args) const
    {
        args.insert(args.begin(), find_tool("bridge"));
        return must(std::move(args));
    }
    // An Ethernet interface to use as a switch port: a dummy, or one end of a veth pair on kernels
    // without CONFIG_DUMMY.
    void add_port(const std::string& port) const
    {
        if (exec({ find_tool("ip"), "link", "add", port, "type", "dummy" }).exit_status == 0)
            return;
        ip({ "link", "add", port, "type", "veth", "peer", "name", port + "-peer" });
    }
    // Whether this kernel's bridge filters VLANs (CONFIG_BRIDGE_VLAN_FILTERING).
    bool bridge_vlan_filtering() const
    {
        const bool ok
            = exec({ find_tool("ip"), "link", "add", "vlanprobe", "type", "bridge", "vlan_filtering", "1" }).exit_status
            == 0;
        if (ok)
            ip({ "link", "del", "vlanprobe" });
        return ok;
    }

private:
    static inline std::atomic<int> s_counter { 0 };
    std::string m_name;
    std::string m_ip;
};

void check_success(const ProcessResult& result)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
}


bool contains(const std::string& text, const std::string& needle)
{
    return text.find(needle) != std::string::npos;
}

// The first whitespace-separated word of each line of `text`.
std::vector<std::string> first_words(const std::string& text)
{
    std::vector<std::string> words;
    for (const auto& line : lines_of(text)) {
        std::istringstream in(line);
        std::string word;
        if (in >> word)
            words.push_back(word);
    }
    return words;
}

// `bridge vlan show dev PORT`: the VLAN lines of the port, each "VID [PVID] [Egress Untagged]".
std::vector<std::string> port_vlans(const TestNamespace& ns, const std::string& port)
{
    std::vector<std::string> vlans;
    for (auto line : lines_of(ns.bridge({ "vlan", "show", "dev", port }))) {
        if (line.rfind("port", 0) == 0 || line.find_first_not_of(" \t") == std::string::npos)
            continue; // the header, blank lines
        if (line.rfind(port, 0) == 0)
            line.erase(0, port.size());
        const auto start = line.find_first_not_of(" \t");
        const auto end = line.find_last_not_of(" \t");
        vlans.push_back(line.substr(start, end - start + 1));
    }
    return vlans;
}
} // namespace

TEST_CASE(
    "switch create makes an up bridge marked minivmm-switch; list shows only minivmm's; delete removes it", "[switch]")
{
    if (!switch_tests_can_run())
        return;
    TestNamespace ns;
    check_success(ns.minivmm_switch({ "create", "sw0" }));
    const std::string link = ns.ip({ "-d", "link", "show", "sw0" });
    CHECK(contains(link, "bridge"));
    CHECK(contains(link, "alias minivmm-switch"));
    CHECK(contains(link, ",UP"));

    ns.ip({ "link", "add", "other0", "type", "bridge" }); // not minivmm's: never listed
    const auto list = ns.minivmm_switch({ "list" });
    check_success(list);
    const auto rows = lines_of(list.out);
    REQUIRE(rows.size() == 2);
    CHECK(first_words(list.out) == std::vector<std::string> { "NAME", "sw0" });
    CHECK(contains(rows[1], "up"));
    CHECK(contains(rows[1], "off"));

    const auto show = ns.minivmm_switch({ "show", "sw0" });
    check_success(show);
    CHECK(has_line(show.out, "switch sw0: up, VLAN filtering off, created by minivmm"));
    CHECK(has_line(show.out, "no ports"));

    check_success(ns.minivmm_switch({ "delete", "sw0" }));
    CHECK(ns.exec({ find_tool("ip"), "link", "show", "sw0" }).exit_status != 0);
    CHECK(first_words(ns.minivmm_switch({ "list" }).out) == std::vector<std::string> { "NAME" });
    // The administrator's bridge is still there.
    ns.ip({ "link", "show", "other0" });
}

TEST_CASE("switch attach puts a port in the bridge and show lists it; detach releases it", "[switch]")
{
    if (!switch_tests_can_run())
        return;
    TestNamespace ns;
    check_success(ns.minivmm_switch({ "create", "sw0" }));
    ns.add_port("p0");
    ns.ip({ "tuntap", "add", "tap0", "mode", "tap" });

    check_success(ns.minivmm_switch({ "attach", "sw0", "p0" }));
    check_success(ns.minivmm_switch({ "attach", "sw0", "tap0" }));
    CHECK(contains(ns.ip({ "link", "show", "p0" }), "master sw0"));
    CHECK(contains(ns.ip({ "link", "show", "tap0" }), "master sw0"));
    const auto show = ns.minivmm_switch({ "show", "sw0" });
    check_success(show);
    CHECK(first_words(show.out) == std::vector<std::string> { "switch", "PORT", "p0", "tap0" });
    CHECK(contains(ns.minivmm_switch({ "list" }).out, "p0,tap0"));

    check_success(ns.minivmm_switch({ "detach", "sw0", "p0" }));
    CHECK_FALSE(contains(ns.ip({ "link", "show", "p0" }), "master"));
    CHECK(
        first_words(ns.minivmm_switch({ "show", "sw0" }).out) == std::vector<std::string> { "switch", "PORT", "tap0" });
    check_one_error_line(ns.minivmm_switch({ "detach", "sw0", "p0" }), 120, "p0 is not attached to switch sw0");

    // A port of another bridge is not taken over.
    check_success(ns.minivmm_switch({ "create", "sw1" }));
    check_one_error_line(ns.minivmm_switch({ "attach", "sw1", "tap0" }), 120, "tap0 is already attached to sw0");

    // Deleting the switch releases its ports; the ports themselves remain.
    check_success(ns.minivmm_switch({ "delete", "sw0" }));
    CHECK_FALSE(contains(ns.ip({ "link", "show", "tap0" }), "master"));
}

TEST_CASE("IEEE 802.1Q: attach --vlan makes an access port (PVID, egress untagged) without default VLAN 1; "
          "--tagged adds trunk VLANs",
    "[switch]")
{
    if (!switch_tests_can_run())
        return;
    TestNamespace ns;
    ns.add_port("p0");
    ns.add_port("p1");
    if (!ns.bridge_vlan_filtering()) {
        WARN("this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): checking the refusals "
             "instead of bridge vlan show");
        check_one_error_line(
            ns.minivmm_switch({ "create", "lab", "--vlan-filtering" }), 120, "CONFIG_BRIDGE_VLAN_FILTERING");
        CHECK(ns.exec({ find_tool("ip"), "link", "show", "lab" }).exit_status != 0); // nothing half-made left
        check_success(ns.minivmm_switch({ "create", "plain" }));
        check_one_error_line(
            ns.minivmm_switch({ "attach", "plain", "p0", "--vlan", "10" }), 120, "switch plain does not filter VLANs");
        CHECK_FALSE(contains(ns.ip({ "link", "show", "p0" }), "master")); // refused before attaching
        return;
    }

    check_success(ns.minivmm_switch({ "create", "lab", "--vlan-filtering" }));
    CHECK(contains(ns.ip({ "-d", "link", "show", "lab" }), "vlan_filtering 1"));

    check_success(ns.minivmm_switch({ "attach", "lab", "p0", "--vlan", "10" }));
    CHECK(port_vlans(ns, "p0") == std::vector<std::string> { "10 PVID Egress Untagged" });

    check_success(ns.minivmm_switch({ "attach", "lab", "p1", "--vlan", "20", "--tagged" }));
    check_success(ns.minivmm_switch({ "attach", "lab", "p1", "--vlan", "30", "--tagged" }));
    CHECK(port_vlans(ns, "p1") == std::vector<std::string> { "20", "30" });

    // A new untagged VLAN replaces the access port's old one.
    check_success(ns.minivmm_switch({ "attach", "lab", "p0", "--vlan", "11", "--untagged" }));
    CHECK(port_vlans(ns, "p0") == std::vector<std::string> { "11 PVID Egress Untagged" });

    const auto show = ns.minivmm_switch({ "show", "lab" });
    check_success(show);
    CHECK(has_line(show.out, "switch lab: up, VLAN filtering on, created by minivmm"));
    bool p0_row = false, p1_row = false;
    for (const auto& line : lines_of(show.out)) {
        std::istringstream in(line);
        std::string port, kind, state, pvid, untagged, tagged;
        in >> port >> kind >> state >> pvid >> untagged >> tagged;
        if (port == "p0")
            p0_row = pvid == "11" && untagged == "11" && tagged == "-";
        if (port == "p1")
            p1_row = pvid == "-" && untagged == "-" && tagged == "20,30";
    }
    CHECK(p0_row);
    CHECK(p1_row);

    check_success(ns.minivmm_switch({ "detach", "lab", "p1" }));
    CHECK(port_vlans(ns, "p1").empty());
}

TEST_CASE("switch errors are one line with status 120; malformed command lines are usage errors (2)", "[switch]")
{
    if (!switch_tests_can_run())
        return;
    TestNamespace ns;
    ns.add_port("p0");
    check_one_error_line(ns.minivmm_switch({ "show", "nope" }), 120, "no switch named nope");
    check_one_error_line(ns.minivmm_switch({ "delete", "nope" }), 120, "no switch named nope");
    check_one_error_line(ns.minivmm_switch({ "attach", "nope", "p0" }), 120, "no switch named nope");
    check_one_error_line(ns.minivmm_switch({ "show", "p0" }), 120, "p0 is not a switch");

    check_success(ns.minivmm_switch({ "create", "sw0" }));
    check_one_error_line(ns.minivmm_switch({ "create", "sw0" }), 120, "cannot create switch sw0: the name is taken");
    check_one_error_line(ns.minivmm_switch({ "create", "p0" }), 120, "the name is taken");
    check_one_error_line(
        ns.minivmm_switch({ "create", "a-very-long-switch" }), 120, "an interface name is at most 15 (IFNAMSIZ)");
    check_one_error_line(ns.minivmm_switch({ "attach", "sw0", "nope0" }), 120, "no interface named nope0");

    for (const char* bad : { "0", "4095", "5000" })
        check_one_error_line(ns.minivmm_switch({ "attach", "sw0", "p0", "--vlan", bad }), 120,
            std::string("--vlan ") + bad + ": a VLAN id is 1..4094");
    CHECK_FALSE(contains(ns.ip({ "link", "show", "p0" }), "master")); // a bad VLAN changes nothing
    check_one_error_line(ns.minivmm_switch({ "attach", "sw0", "p0", "--vlan", "ten" }), 2, "--vlan");
    check_one_error_line(
        ns.minivmm_switch({ "attach", "sw0", "p0", "--vlan", "10", "--tagged", "--untagged" }), 2, "--");
    check_one_error_line(ns.minivmm_switch({}), 2, "subcommand");
    check_one_error_line(ns.minivmm_switch({ "create" }), 2, "NAME");

    ns.ip({ "link", "add", "admin0", "type", "bridge" });
    check_one_error_line(ns.minivmm_switch({ "delete", "admin0" }), 120, "refusing to delete it");
    ns.ip({ "link", "show", "admin0" });
}

TEST_CASE("switch create without CAP_NET_ADMIN says so in one line", "[switch]")
{
    if (!switch_tests_can_run())
        return;
    const std::string setpriv = find_tool("setpriv");
    if (setpriv.empty()) {
        WARN("setpriv (util-linux) is missing: cannot drop CAP_NET_ADMIN, skipping");
        return;
    }
    TestNamespace ns;
    // Root without CAP_NET_ADMIN: gone from the bounding and inheritable sets, so the exec'd
    // minivmm does not get it back.
    const auto result = ns.exec({ setpriv, "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", minivmm_binary(),
        "switch", "create", "sw0" });
    check_one_error_line(result, 120, "creating switch sw0 needs CAP_NET_ADMIN (run as root)");
    CHECK(ns.exec({ find_tool("ip"), "link", "show", "sw0" }).exit_status != 0);
    // Reading needs no privilege.
    check_success(ns.exec(
        { setpriv, "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", minivmm_binary(), "switch", "list" }));
}
