// LinkRequest: the rtnetlink requests minivmm sends, checked byte by byte without a socket
// (rtnetlink(7); Documentation/networking/bridge.rst; <linux/if_bridge.h>).
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "vmm/net/link_request.hpp"
#include "vmm/net/netlink_attributes.hpp"

using namespace minivmm::net;

namespace {
// The finished bytes, re-read as a message: what the kernel would receive.
struct SentMessage {
    std::vector<std::uint8_t> bytes;
    explicit SentMessage(const NetlinkMessage& message)
        : bytes(message.bytes().begin(), message.bytes().end())
    {
    }
    [[nodiscard]] const nlmsghdr& header() const { return *reinterpret_cast<const nlmsghdr*>(bytes.data()); }
    [[nodiscard]] ifinfomsg link() const
    {
        ifinfomsg value;
        std::memcpy(&value, bytes.data() + NLMSG_HDRLEN, sizeof value);
        return value;
    }
    [[nodiscard]] NetlinkAttributes attributes() const { return NetlinkAttributes(header(), sizeof(ifinfomsg)); }
};
} // namespace

TEST_CASE("rtnetlink(7): a new bridge is RTM_NEWLINK with CREATE|EXCL, IFLA_IFNAME and kind \"bridge\"", "[net]")
{
    const SentMessage sent(LinkRequest::new_bridge("sw0", VlanFiltering::Off));
    CHECK(sent.header().nlmsg_len == sent.bytes.size());
    CHECK(sent.header().nlmsg_type == RTM_NEWLINK);
    CHECK(sent.header().nlmsg_flags == (NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL));
    CHECK(sent.link().ifi_family == AF_UNSPEC);
    CHECK(sent.link().ifi_index == 0);
    CHECK(sent.attributes().str(IFLA_IFNAME) == "sw0");
    const auto info = sent.attributes().nested(IFLA_LINKINFO);
    REQUIRE(info);
    CHECK(info->str(IFLA_INFO_KIND) == "bridge");
    // Without VLAN filtering no IFLA_INFO_DATA is sent: kernels built without
    // CONFIG_BRIDGE_VLAN_FILTERING refuse IFLA_BR_VLAN_FILTERING even when it is 0.
    CHECK_FALSE(info->nested(IFLA_INFO_DATA));
    // The name is NUL-terminated on the wire (NLA_NUL_STRING).
    const nlattr* name = sent.attributes().find(IFLA_IFNAME);
    REQUIRE(name);
    CHECK(name->nla_len == NLA_HDRLEN + 4);
}

TEST_CASE("bridge.rst: a VLAN-filtering bridge carries IFLA_INFO_DATA/IFLA_BR_VLAN_FILTERING = 1", "[net]")
{
    const SentMessage sent(LinkRequest::new_bridge("lab", VlanFiltering::On));
    const auto info = sent.attributes().nested(IFLA_LINKINFO);
    REQUIRE(info);
    const auto data = info->nested(IFLA_INFO_DATA);
    REQUIRE(data);
    CHECK(data->u8(IFLA_BR_VLAN_FILTERING) == 1);
}

TEST_CASE("rtnetlink(7): bringing a link up changes only IFF_UP (ifi_change), with the minivmm alias", "[net]")
{
    const SentMessage sent(LinkRequest::set_alias_and_state(7, "minivmm-switch", LinkState::Up));
    CHECK(sent.header().nlmsg_type == RTM_NEWLINK);
    CHECK((sent.header().nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == 0);
    CHECK(sent.link().ifi_index == 7);
    CHECK(sent.link().ifi_change == IFF_UP);
    CHECK(sent.link().ifi_flags == IFF_UP);
    CHECK(sent.attributes().str(IFLA_IFALIAS) == "minivmm-switch");

    const SentMessage down(LinkRequest::set_state(7, LinkState::Down));
    CHECK(down.link().ifi_change == IFF_UP);
    CHECK(down.link().ifi_flags == 0);
    CHECK_FALSE(down.attributes().find(IFLA_IFALIAS));
}

TEST_CASE("ip-link(8): master sets IFLA_MASTER to the bridge's index, nomaster to 0", "[net]")
{
    const SentMessage attach(LinkRequest::set_master(4, 2));
    CHECK(attach.link().ifi_index == 4);
    CHECK(attach.attributes().u32(IFLA_MASTER) == 2u);
    const SentMessage release(LinkRequest::set_master(4, 0));
    CHECK(release.attributes().u32(IFLA_MASTER) == 0u);
}

TEST_CASE("rtnetlink(7): deleting a link is RTM_DELLINK by index", "[net]")
{
    const SentMessage sent(LinkRequest::delete_link(9));
    CHECK(sent.header().nlmsg_type == RTM_DELLINK);
    CHECK(sent.link().ifi_index == 9);
    CHECK(sent.header().nlmsg_len == NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)));
}

TEST_CASE("bridge(8) vlan show: the port dump is RTM_GETLINK over AF_BRIDGE with RTEXT_FILTER_BRVLAN", "[net]")
{
    const SentMessage sent(LinkRequest::dump_bridge_ports());
    CHECK(sent.header().nlmsg_type == RTM_GETLINK);
    CHECK(sent.link().ifi_family == AF_BRIDGE);
    CHECK(sent.attributes().u32(IFLA_EXT_MASK) == std::uint32_t(RTEXT_FILTER_BRVLAN));

    const SentMessage by_name(LinkRequest::get_link("tap0"));
    CHECK(by_name.header().nlmsg_type == RTM_GETLINK);
    CHECK(by_name.attributes().str(IFLA_IFNAME) == "tap0");
}

TEST_CASE("IEEE 802.1Q access port: an untagged VLAN is sent as PVID|UNTAGGED in IFLA_AF_SPEC", "[net]")
{
    const SentMessage sent(LinkRequest::add_port_vlan(5, *VlanId::from(10), VlanMode::Untagged));
    CHECK(sent.header().nlmsg_type == RTM_SETLINK);
    CHECK(sent.link().ifi_family == AF_BRIDGE);
    CHECK(sent.link().ifi_index == 5);
    const auto spec = sent.attributes().nested(IFLA_AF_SPEC);
    REQUIRE(spec);
    const auto info = attribute_as<bridge_vlan_info>(spec->find(IFLA_BRIDGE_VLAN_INFO));
    REQUIRE(info);
    CHECK(info->vid == 10);
    CHECK(info->flags == (BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED));
    // Not BRIDGE_VLAN_INFO_MASTER/self: the VLAN is the port's, not the bridge device's.
    CHECK((info->flags & BRIDGE_VLAN_INFO_MASTER) == 0);
}

TEST_CASE("IEEE 802.1Q trunk port: a tagged VLAN is sent with no PVID or UNTAGGED flag", "[net]")
{
    const SentMessage sent(LinkRequest::add_port_vlan(5, *VlanId::from(4094), VlanMode::Tagged));
    const auto spec = sent.attributes().nested(IFLA_AF_SPEC);
    REQUIRE(spec);
    const auto info = attribute_as<bridge_vlan_info>(spec->find(IFLA_BRIDGE_VLAN_INFO));
    REQUIRE(info);
    CHECK(info->vid == 4094);
    CHECK(info->flags == 0);
}

TEST_CASE("bridge(8) vlan del: removing a port VLAN is RTM_DELLINK over AF_BRIDGE, not a link deletion", "[net]")
{
    const SentMessage sent(LinkRequest::delete_port_vlan(5, 1));
    CHECK(sent.header().nlmsg_type == RTM_DELLINK);
    CHECK(sent.link().ifi_family == AF_BRIDGE);
    const auto spec = sent.attributes().nested(IFLA_AF_SPEC);
    REQUIRE(spec);
    const auto info = attribute_as<bridge_vlan_info>(spec->find(IFLA_BRIDGE_VLAN_INFO));
    REQUIRE(info);
    CHECK(info->vid == 1);
}
