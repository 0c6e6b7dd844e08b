#include "vmm/net/link_request.hpp"

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

namespace minivmm::net {

namespace {
NetlinkMessage link_message(std::uint16_t type, std::uint16_t flags, unsigned char family, int index)
{
    NetlinkMessage message(type, flags, sizeof(ifinfomsg));
    auto& header = message.family_header<ifinfomsg>();
    header.ifi_family = family;
    header.ifi_index = index;
    return message;
}

void put_state(NetlinkMessage& message, LinkState state)
{
    auto& header = message.family_header<ifinfomsg>();
    header.ifi_change = IFF_UP; // rtnetlink(7): only the bits in ifi_change are changed
    header.ifi_flags = state == LinkState::Up ? IFF_UP : 0;
}

NetlinkMessage port_vlan_message(std::uint16_t type, int port_index, std::uint16_t vid, std::uint16_t flags)
{
    NetlinkMessage message = link_message(type, 0, AF_BRIDGE, port_index);
    message.begin_nest(IFLA_AF_SPEC);
    const bridge_vlan_info info { .flags = flags, .vid = vid };
    message.put_struct(IFLA_BRIDGE_VLAN_INFO, info);
    message.end_nest();
    return message;
}
} // namespace

NetlinkMessage LinkRequest::new_bridge(std::string_view name, VlanFiltering filtering)
{
    NetlinkMessage message = link_message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
    message.put_string(IFLA_IFNAME, name);
    message.begin_nest(IFLA_LINKINFO);
    message.put_string(IFLA_INFO_KIND, "bridge");
    // Only when asked: a kernel without CONFIG_BRIDGE_VLAN_FILTERING refuses the attribute even
    // with value 0, and 0 is the bridge's default anyway.
    if (filtering == VlanFiltering::On) {
        message.begin_nest(IFLA_INFO_DATA);
        message.put_u8(IFLA_BR_VLAN_FILTERING, 1);
        message.end_nest();
    }
    message.end_nest();
    return message;
}

NetlinkMessage LinkRequest::set_alias_and_state(int index, std::string_view alias, LinkState state)
{
    NetlinkMessage message = link_message(RTM_NEWLINK, 0, AF_UNSPEC, index);
    put_state(message, state);
    message.put_string(IFLA_IFALIAS, alias);
    return message;
}

NetlinkMessage LinkRequest::set_state(int index, LinkState state)
{
    NetlinkMessage message = link_message(RTM_NEWLINK, 0, AF_UNSPEC, index);
    put_state(message, state);
    return message;
}

NetlinkMessage LinkRequest::set_master(int index, int master)
{
    NetlinkMessage message = link_message(RTM_NEWLINK, 0, AF_UNSPEC, index);
    message.put_u32(IFLA_MASTER, static_cast<std::uint32_t>(master));
    return message;
}

NetlinkMessage LinkRequest::delete_link(int index)
{
    return link_message(RTM_DELLINK, 0, AF_UNSPEC, index);
}

NetlinkMessage LinkRequest::get_link(std::string_view name)
{
    NetlinkMessage message = link_message(RTM_GETLINK, 0, AF_UNSPEC, 0);
    message.put_string(IFLA_IFNAME, name);
    message.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return message;
}

NetlinkMessage LinkRequest::dump_links()
{
    NetlinkMessage message = link_message(RTM_GETLINK, 0, AF_UNSPEC, 0);
    message.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return message;
}

NetlinkMessage LinkRequest::dump_bridge_ports()
{
    NetlinkMessage message = link_message(RTM_GETLINK, 0, AF_BRIDGE, 0);
    message.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
    return message;
}

NetlinkMessage LinkRequest::add_port_vlan(int port_index, VlanId vid, VlanMode mode)
{
    const std::uint16_t flags = mode == VlanMode::Untagged ? BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED : 0;
    return port_vlan_message(RTM_SETLINK, port_index, vid.value(), flags);
}

NetlinkMessage LinkRequest::delete_port_vlan(int port_index, std::uint16_t vid)
{
    return port_vlan_message(RTM_DELLINK, port_index, vid, 0);
}

} // namespace minivmm::net
