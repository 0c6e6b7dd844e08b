// `minivmm switch ...` option parsing and validation (vmm/cli/switch_command.hpp), and the tables
// `switch list` and `switch show` print.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/cli/switch_command.hpp"

using namespace minivmm;
using namespace minivmm::cli;

namespace {
// Parses `minivmm <args>` into a fresh SwitchCommand and returns its validated request.
SwitchRequest parse(const std::string& args)
{
    CLI::App app { "test", "minivmm" };
    SwitchCommand command(app);
    app.parse(args, false);
    REQUIRE(command.parsed());
    return command.request();
}

bool is_usage_error(const std::string& args)
{
    CLI::App app { "test", "minivmm" };
    SwitchCommand command(app);
    app.require_subcommand(1);
    try {
        app.parse(args, false);
    } catch (const CLI::ParseError&) {
        return true;
    }
    return false;
}
} // namespace

TEST_CASE("switch create takes a name and an optional --vlan-filtering", "[net][cli]")
{
    auto request = parse("switch create sw0");
    CHECK(request.action == SwitchAction::Create);
    CHECK(request.name == "sw0");
    CHECK(request.filtering == net::VlanFiltering::Off);
    request = parse("switch create lab --vlan-filtering");
    CHECK(request.filtering == net::VlanFiltering::On);
}

TEST_CASE("switch attach makes an untagged (access) VLAN port unless --tagged", "[net][cli]")
{
    auto request = parse("switch attach sw0 tap0 --vlan 10");
    CHECK(request.action == SwitchAction::Attach);
    CHECK(request.name == "sw0");
    CHECK(request.port == "tap0");
    REQUIRE(request.vlan);
    CHECK(request.vlan->value() == 10);
    CHECK(request.mode == net::VlanMode::Untagged);

    CHECK(parse("switch attach sw0 tap0 --vlan 10 --untagged").mode == net::VlanMode::Untagged);
    CHECK(parse("switch attach sw0 tap0 --vlan 20 --tagged").mode == net::VlanMode::Tagged);
    CHECK_FALSE(parse("switch attach sw0 tap0").vlan);
}

TEST_CASE("IEEE 802.1Q: switch attach refuses VLAN 0 and 4095 with a UserError (exit 120)", "[net][cli]")
{
    CHECK_THROWS_AS(parse("switch attach sw0 tap0 --vlan 0"), UserError);
    CHECK_THROWS_AS(parse("switch attach sw0 tap0 --vlan 4095"), UserError);
    CHECK_THROWS_AS(parse("switch attach sw0 tap0 --vlan 100000"), UserError);
    CHECK(parse("switch attach sw0 tap0 --vlan 4094").vlan->value() == 4094);
    CHECK(parse("switch attach sw0 tap0 --vlan 1").vlan->value() == 1);
}

TEST_CASE("malformed switch command lines are usage errors (exit 2)", "[net][cli]")
{
    CHECK(is_usage_error("switch")); // no subcommand
    CHECK(is_usage_error("switch create")); // no name
    CHECK(is_usage_error("switch attach sw0")); // no port
    CHECK(is_usage_error("switch attach sw0 tap0 --vlan ten")); // not a number
    CHECK(is_usage_error("switch attach sw0 tap0 --vlan 10 --tagged --untagged"));
    CHECK(is_usage_error("switch attach sw0 tap0 --tagged")); // a mode needs a VLAN
    CHECK(is_usage_error("switch frobnicate sw0"));
    CHECK_FALSE(is_usage_error("switch list"));
    CHECK_FALSE(is_usage_error("switch detach sw0 tap0"));
}

TEST_CASE("switch delete, show, detach and list select their action", "[net][cli]")
{
    CHECK(parse("switch delete sw0").action == SwitchAction::Delete);
    CHECK(parse("switch show sw0").action == SwitchAction::Show);
    CHECK(parse("switch list").action == SwitchAction::List);
    const auto detach = parse("switch detach sw0 veth1");
    CHECK(detach.action == SwitchAction::Detach);
    CHECK(detach.port == "veth1");
}

TEST_CASE("switch list prints one aligned row per switch with its ports", "[net][cli]")
{
    std::vector<net::SwitchInfo> switches(2);
    switches[0].name = "lab";
    switches[0].up = true;
    switches[0].vlan_filtering = true;
    switches[0].ports.resize(2);
    switches[0].ports[0].name = "tap0";
    switches[0].ports[1].name = "tap1";
    switches[1].name = "office-net";
    CHECK(format_switch_list(switches)
        == "NAME        STATE  VLAN-FILTERING  PORTS\n"
           "lab         up     on              tap0,tap1\n"
           "office-net  down   off             -\n");
    CHECK(format_switch_list({}) == "NAME  STATE  VLAN-FILTERING  PORTS\n");
}

TEST_CASE("switch show prints each port's PVID, untagged and tagged VLANs", "[net][cli]")
{
    net::SwitchInfo info;
    info.name = "lab";
    info.up = true;
    info.vlan_filtering = true;
    info.created_by_minivmm = true;
    info.ports = {
        net::SwitchPort {
            .name = "tap0", .kind = "tun", .up = true, .vlans = { { .vid = 10, .pvid = true, .untagged = true } } },
        net::SwitchPort { .name = "uplink",
            .kind = "veth",
            .up = false,
            .vlans
            = { { .vid = 10, .pvid = false, .untagged = false }, { .vid = 20, .pvid = false, .untagged = false } } },
    };
    CHECK(format_switch_show(info)
        == "switch lab: up, VLAN filtering on, created by minivmm\n"
           "PORT    KIND  STATE  PVID  UNTAGGED  TAGGED\n"
           "tap0    tun   up     10    10        -\n"
           "uplink  veth  down   -     -         10,20\n");
    info.ports.clear();
    CHECK(format_switch_show(info) == "switch lab: up, VLAN filtering on, created by minivmm\nno ports\n");
}
