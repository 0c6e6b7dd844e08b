#include "vmm/net/link_info.hpp"

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>

#include "vmm/net/netlink_attributes.hpp"

namespace minivmm::net {

bool LinkInfo::is_up() const
{
    return (flags & IFF_UP) != 0;
}

std::optional<LinkInfo> parse_link_info(const nlmsghdr& message)
{
    if (message.nlmsg_type != RTM_NEWLINK || message.nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(ifinfomsg))
        return std::nullopt;
    ifinfomsg header;
    std::memcpy(&header, mnl_nlmsg_get_payload(&message), sizeof header);
    const NetlinkAttributes attributes(message, sizeof(ifinfomsg));

    LinkInfo link;
    link.index = header.ifi_index;
    link.flags = header.ifi_flags;
    link.name = attributes.str(IFLA_IFNAME).value_or("");
    link.master = static_cast<int>(attributes.u32(IFLA_MASTER).value_or(0));
    link.alias = attributes.str(IFLA_IFALIAS).value_or("");
    if (auto info = attributes.nested(IFLA_LINKINFO)) {
        link.kind = info->str(IFLA_INFO_KIND).value_or("");
        if (auto data = info->nested(IFLA_INFO_DATA); data && link.is_bridge()) {
            if (auto filtering = data->u8(IFLA_BR_VLAN_FILTERING))
                link.vlan_filtering = *filtering != 0;
            link.default_pvid = data->u16(IFLA_BR_VLAN_DEFAULT_PVID);
        }
    }
    // Documentation/networking/bridge.rst ("VLAN"): with RTEXT_FILTER_BRVLAN each VLAN is one
    // IFLA_BRIDGE_VLAN_INFO; ranges (RANGE_BEGIN..RANGE_END) appear only with the _COMPRESSED
    // filter, which minivmm does not ask for, but are expanded here all the same.
    if (auto spec = attributes.nested(IFLA_AF_SPEC)) {
        int range_first = -1; // the vid of a pending RANGE_BEGIN entry
        for (const nlattr* attribute : spec->all(IFLA_BRIDGE_VLAN_INFO)) {
            const auto info = attribute_as<bridge_vlan_info>(attribute);
            if (!info)
                continue;
            if (info->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
                range_first = info->vid;
                continue;
            }
            const bool ends_range = (info->flags & BRIDGE_VLAN_INFO_RANGE_END) && range_first >= 0;
            const std::uint32_t first = ends_range ? std::min<std::uint32_t>(range_first, info->vid) : info->vid;
            range_first = -1;
            for (std::uint32_t vid = first; vid <= info->vid; ++vid)
                link.vlans.push_back(PortVlan { .vid = static_cast<std::uint16_t>(vid),
                    .pvid = (info->flags & BRIDGE_VLAN_INFO_PVID) != 0,
                    .untagged = (info->flags & BRIDGE_VLAN_INFO_UNTAGGED) != 0 });
        }
        std::sort(
            link.vlans.begin(), link.vlans.end(), [](const PortVlan& a, const PortVlan& b) { return a.vid < b.vid; });
    }
    return link;
}

} // namespace minivmm::net
