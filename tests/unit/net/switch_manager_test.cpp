// SwitchManager against the real kernel bridge, in a forked child inside a fresh network namespace
// (tests/support/netns_child.hpp): the calls the VM layer makes for `--net switch=NAME,vlan=ID`
// (connect_tap, interface_exists, set_up) and what show/list report back. Needs root; skipped with
// a WARN otherwise. The VLAN case needs CONFIG_BRIDGE_VLAN_FILTERING (a WARN says when it is off).
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "tests/support/netns_child.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/net/switch_manager.hpp"

using namespace minivmm;
using namespace minivmm::net;

namespace {
constexpr const char* kSkipped = "skipped: ";

// A tap interface that lives as long as the returned fd (tuntap.rst, TUNSETIFF).
UniqueFd open_tap(const std::string& name)
{
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd)
        throw SysError("open /dev/net/tun");
    ifreq request {};
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &request) < 0)
        throw SysError("TUNSETIFF " + name);
    return fd;
}

// Runs `body` in a fresh namespace; a "skipped: ..." message is a WARN, not a failure.
void run_switch_body(const std::function<std::string()>& body)
{
    if (::geteuid() != 0) {
        WARN("not root: skipping a real-bridge SwitchManager test");
        return;
    }
    const auto result = testing::run_in_fresh_netns([&] {
        try {
            return body();
        } catch (const std::exception& error) {
            return std::string("threw: ") + error.what();
        }
    });
    if (result.status == testing::NetnsResult::Status::Unavailable) {
        if (testing::running_under_ci())
            FAIL("running as root under CI, but no network namespace: " << result.message);
        WARN("skipping a real-bridge SwitchManager test: " << result.message);
        return;
    }
    if (result.message.rfind(kSkipped, 0) == 0) {
        WARN(result.message);
        return;
    }
    INFO(result.message);
    CHECK(result.status == testing::NetnsResult::Status::Ok);
}
} // namespace

TEST_CASE("--net switch=NAME: connect_tap puts an existing tap on the switch and brings it up", "[net][netns]")
{
    run_switch_body([]() -> std::string {
        SwitchManager switches;
        switches.create("sw0", VlanFiltering::Off);
        const UniqueFd tap = open_tap("tap0");
        if (!switches.interface_exists("tap0") || switches.interface_exists("nope0"))
            return "interface_exists is wrong";
        switches.connect_tap("tap0", "sw0", std::nullopt);
        const SwitchInfo info = switches.show("sw0");
        if (info.ports.size() != 1 || info.ports[0].name != "tap0" || info.ports[0].kind != "tun")
            return "show does not list tap0 as the one port";
        if (!info.ports[0].up)
            return "tap0 is not up after connect_tap";
        const auto listed = switches.list();
        if (listed.size() != 1 || listed[0].name != "sw0" || !listed[0].created_by_minivmm || !listed[0].up)
            return "list does not show sw0 up and created by minivmm";
        try {
            switches.connect_tap("tap0", "nope", std::nullopt);
            return "connecting to a missing switch did not throw";
        } catch (const UserError& error) {
            if (std::string(error.what()) != "no switch named nope")
                return fmt::format("wrong error for a missing switch: {}", error.what());
        }
        try {
            switches.set_up("nope0");
            return "set_up of a missing interface did not throw";
        } catch (const UserError&) {
        }
        switches.remove("sw0");
        return switches.list().empty() ? "" : "sw0 is still listed after remove";
    });
}

TEST_CASE("--net switch=NAME,vlan=ID: the tap becomes an access port of that VLAN only (PVID, untagged, no VLAN 1)",
    "[net][netns]")
{
    run_switch_body([]() -> std::string {
        SwitchManager switches;
        try {
            switches.create("lab", VlanFiltering::On);
        } catch (const UserError& error) {
            if (std::string(error.what()).find("CONFIG_BRIDGE_VLAN_FILTERING") != std::string::npos)
                return std::string(kSkipped) + error.what();
            throw;
        }
        const UniqueFd tap = open_tap("tap0");
        switches.connect_tap("tap0", "lab", VlanId::from(30));
        const SwitchInfo info = switches.show("lab");
        if (!info.vlan_filtering)
            return "lab does not report VLAN filtering";
        if (info.ports.size() != 1)
            return "lab does not have exactly one port";
        const std::vector<PortVlan> expected { { .vid = 30, .pvid = true, .untagged = true } };
        if (info.ports[0].vlans != expected)
            return fmt::format("tap0 has {} VLANs, expected only 30 PVID untagged", info.ports[0].vlans.size());
        return "";
    });
}
