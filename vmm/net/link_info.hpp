// LinkInfo: what minivmm reads from one RTM_NEWLINK reply of an rtnetlink link dump: the link's
// name, index, master, alias, kind and bridge settings (AF_UNSPEC, IFLA_LINKINFO/IFLA_INFO_DATA
// IFLA_BR_*), or a bridge port's VLANs (AF_BRIDGE with RTEXT_FILTER_BRVLAN: IFLA_AF_SPEC/
// IFLA_BRIDGE_VLAN_INFO) (rtnetlink(7) "RTM_NEWLINK"; Documentation/networking/bridge.rst).
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/net/vlan_id.hpp"

namespace minivmm::net {

struct LinkInfo {
    int index = 0;
    std::string name;
    unsigned flags = 0; // IFF_UP, IFF_LOWER_UP, ... (ifinfomsg.ifi_flags)
    int master = 0; // IFLA_MASTER: the bridge a port belongs to, or 0
    std::string alias; // IFLA_IFALIAS
    std::string kind; // IFLA_INFO_KIND: "bridge", "veth", "tun", ... or empty
    std::optional<bool> vlan_filtering; // IFLA_BR_VLAN_FILTERING (bridges only)
    std::optional<std::uint16_t> default_pvid; // IFLA_BR_VLAN_DEFAULT_PVID (bridges only)
    std::vector<PortVlan> vlans; // AF_BRIDGE dumps only: the port's VLANs, by vid

    [[nodiscard]] bool is_bridge() const { return kind == "bridge"; }
    [[nodiscard]] bool is_up() const;
};

// Parses one RTM_NEWLINK message; std::nullopt for any other message or a truncated one.
std::optional<LinkInfo> parse_link_info(const nlmsghdr& message);

} // namespace minivmm::net
