// parse_link_info: RTM_NEWLINK replies of link dumps (rtnetlink(7)), from hand-written bytes as
// the kernel sends them and from messages built with NetlinkMessage.
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "vmm/net/link_info.hpp"
#include "vmm/net/netlink_message.hpp"

using namespace minivmm::net;

namespace {
// An AF_BRIDGE dump entry for port "p0" (index 4) of bridge index 2, as the kernel sends it on a
// little-endian host: VLAN 10 PVID|UNTAGGED, VLAN 20 tagged. The IFLA_AF_SPEC nest carries
// NLA_F_NESTED (0x8000), which the parser must mask off.
// clang-format off
alignas(4) const std::uint8_t kBridgePortDump[] = {
    0x44, 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, // nlmsghdr: len 68, RTM_NEWLINK, NLM_F_MULTI
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //           seq 1, pid 0
    0x07, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, // ifinfomsg: AF_BRIDGE, ARPHRD_ETHER, index 4
    0x43, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //            flags UP|BROADCAST|RUNNING|MULTICAST
    0x07, 0x00, 0x03, 0x00, 'p', '0', 0x00, 0x00,   // IFLA_IFNAME "p0"
    0x08, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x00, // IFLA_MASTER 2
    0x14, 0x00, 0x1a, 0x80,                         // IFLA_AF_SPEC | NLA_F_NESTED, 20 bytes
    0x08, 0x00, 0x02, 0x00, 0x06, 0x00, 0x0a, 0x00, //   IFLA_BRIDGE_VLAN_INFO PVID|UNTAGGED vid 10
    0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x14, 0x00, //   IFLA_BRIDGE_VLAN_INFO vid 20
};
// clang-format on
static_assert(sizeof kBridgePortDump == 68);

const nlmsghdr& as_message(const std::uint8_t* bytes)
{
    return *reinterpret_cast<const nlmsghdr*>(bytes);
}

NetlinkMessage link_reply(int index, unsigned flags)
{
    NetlinkMessage message(RTM_NEWLINK, NLM_F_MULTI, sizeof(ifinfomsg));
    message.family_header<ifinfomsg>().ifi_index = index;
    message.family_header<ifinfomsg>().ifi_flags = flags;
    return message;
}
} // namespace

TEST_CASE("bridge.rst: a port's IFLA_AF_SPEC lists its VLANs with their PVID and UNTAGGED flags", "[net]")
{
    const auto link = parse_link_info(as_message(kBridgePortDump));
    REQUIRE(link);
    CHECK(link->index == 4);
    CHECK(link->name == "p0");
    CHECK(link->master == 2);
    CHECK(link->is_up());
    REQUIRE(link->vlans.size() == 2);
    CHECK(link->vlans[0] == PortVlan { .vid = 10, .pvid = true, .untagged = true });
    CHECK(link->vlans[1] == PortVlan { .vid = 20, .pvid = false, .untagged = false });
}

TEST_CASE("rtnetlink(7): a bridge's IFLA_LINKINFO gives its kind, VLAN filtering and default PVID", "[net]")
{
    NetlinkMessage message = link_reply(2, IFF_UP);
    message.put_string(IFLA_IFNAME, "sw0");
    message.put_string(IFLA_IFALIAS, "minivmm-switch");
    message.begin_nest(IFLA_LINKINFO);
    message.put_string(IFLA_INFO_KIND, "bridge");
    message.begin_nest(IFLA_INFO_DATA);
    message.put_u32(IFLA_BR_FORWARD_DELAY, 1500);
    message.put_u8(IFLA_BR_VLAN_FILTERING, 1);
    message.put_u16(IFLA_BR_VLAN_DEFAULT_PVID, 1);
    message.end_nest();
    message.end_nest();

    const auto link = parse_link_info(message.header());
    REQUIRE(link);
    CHECK(link->name == "sw0");
    CHECK(link->alias == "minivmm-switch");
    CHECK(link->is_bridge());
    CHECK(link->master == 0);
    CHECK(link->vlan_filtering == true);
    CHECK(link->default_pvid == std::uint16_t(1));
}

TEST_CASE("rtnetlink(7): a link of another kind is not a bridge and has no bridge settings", "[net]")
{
    NetlinkMessage message = link_reply(5, 0);
    message.put_string(IFLA_IFNAME, "tap0");
    message.put_u32(IFLA_MASTER, 2);
    message.begin_nest(IFLA_LINKINFO);
    message.put_string(IFLA_INFO_KIND, "tun");
    message.begin_nest(IFLA_INFO_DATA);
    message.put_u8(IFLA_BR_VLAN_FILTERING, 1); // same number, another kind's attribute
    message.end_nest();
    message.end_nest();

    const auto link = parse_link_info(message.header());
    REQUIRE(link);
    CHECK(link->kind == "tun");
    CHECK_FALSE(link->is_bridge());
    CHECK_FALSE(link->is_up());
    CHECK(link->master == 2);
    CHECK_FALSE(link->vlan_filtering);
}

TEST_CASE("bridge.rst: a compressed VLAN range (RANGE_BEGIN..RANGE_END) is expanded to every VLAN", "[net]")
{
    NetlinkMessage message = link_reply(6, 0);
    message.begin_nest(IFLA_AF_SPEC);
    message.put_struct(IFLA_BRIDGE_VLAN_INFO, bridge_vlan_info { .flags = BRIDGE_VLAN_INFO_RANGE_BEGIN, .vid = 100 });
    message.put_struct(IFLA_BRIDGE_VLAN_INFO, bridge_vlan_info { .flags = BRIDGE_VLAN_INFO_RANGE_END, .vid = 103 });
    message.put_struct(IFLA_BRIDGE_VLAN_INFO, bridge_vlan_info { .flags = BRIDGE_VLAN_INFO_PVID, .vid = 7 });
    message.end_nest();
    const auto link = parse_link_info(message.header());
    REQUIRE(link);
    REQUIRE(link->vlans.size() == 5);
    CHECK(link->vlans[0].vid == 7);
    CHECK(link->vlans[0].pvid);
    CHECK(link->vlans[1].vid == 100);
    CHECK(link->vlans[4].vid == 103);
}

TEST_CASE("RFC 3549 §2.3.2: an attribute whose length runs past the message is ignored, not read", "[net]")
{
    std::vector<std::uint8_t> bytes(kBridgePortDump, kBridgePortDump + sizeof kBridgePortDump);
    bytes[48] = 0xff; // the IFLA_AF_SPEC nest claims 255 bytes
    const auto link = parse_link_info(as_message(bytes.data()));
    REQUIRE(link);
    CHECK(link->name == "p0");
    CHECK(link->vlans.empty());

    // A message cut inside its ifinfomsg is no link at all.
    bytes[0] = NLMSG_HDRLEN + 4;
    CHECK_FALSE(parse_link_info(as_message(bytes.data())));
}

TEST_CASE("rtnetlink(7): only RTM_NEWLINK messages are links", "[net]")
{
    NetlinkMessage message(RTM_NEWADDR, 0, sizeof(ifinfomsg));
    CHECK_FALSE(parse_link_info(message.header()));
}
