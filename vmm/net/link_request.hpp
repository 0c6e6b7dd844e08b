// LinkRequest: builds the rtnetlink requests minivmm sends to manage Linux bridges and their ports
// (rtnetlink(7) RTM_NEWLINK/RTM_DELLINK/RTM_SETLINK/RTM_GETLINK; Documentation/networking/
// bridge.rst; ip-link(8) and bridge(8) send the same messages). Pure: no socket, so unit-testable.
#pragma once

#include <string_view>

#include "vmm/net/netlink_message.hpp"
#include "vmm/net/vlan_id.hpp"

namespace minivmm::net {

enum class VlanFiltering { Off, On };
enum class LinkState { Down, Up };

struct LinkRequest {
    // RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL: a new link of IFLA_INFO_KIND "bridge" named `name`,
    // with IFLA_INFO_DATA/IFLA_BR_VLAN_FILTERING = 1 when asked. `ip link add NAME type bridge
    // [vlan_filtering 1]`.
    static NetlinkMessage new_bridge(std::string_view name, VlanFiltering filtering);
    // RTM_NEWLINK on an existing link: IFLA_IFALIAS (the mark of a minivmm switch) and, with
    // LinkState::Up, IFF_UP. `ip link set INDEX alias ALIAS up`.
    static NetlinkMessage set_alias_and_state(int index, std::string_view alias, LinkState state);
    // RTM_NEWLINK on an existing link: IFF_UP set or cleared. `ip link set INDEX up|down`.
    static NetlinkMessage set_state(int index, LinkState state);
    // RTM_NEWLINK on an existing link: IFLA_MASTER = `master` (0 releases the port).
    // `ip link set PORT master BRIDGE` / `ip link set PORT nomaster`.
    static NetlinkMessage set_master(int index, int master);
    // RTM_DELLINK of the link with index `index`. `ip link del NAME`.
    static NetlinkMessage delete_link(int index);
    // RTM_GETLINK of one link by name (IFLA_IFNAME), asking for no VF/stats extras.
    static NetlinkMessage get_link(std::string_view name);
    // RTM_GETLINK dump of every link (AF_UNSPEC): names, masters, kinds, bridge settings.
    static NetlinkMessage dump_links();
    // RTM_GETLINK dump over AF_BRIDGE with IFLA_EXT_MASK = RTEXT_FILTER_BRVLAN: every bridge port
    // with its VLANs (IFLA_AF_SPEC/IFLA_BRIDGE_VLAN_INFO), one entry per VLAN. `bridge vlan show`.
    static NetlinkMessage dump_bridge_ports();
    // RTM_SETLINK over AF_BRIDGE: add VLAN `vid` to the port (Untagged = PVID|UNTAGGED: an access
    // port; Tagged: no flags, a trunk member). `bridge vlan add dev PORT vid N [pvid untagged]`.
    static NetlinkMessage add_port_vlan(int port_index, VlanId vid, VlanMode mode);
    // RTM_DELLINK over AF_BRIDGE: remove VLAN `vid` from the port (not the port itself).
    // `bridge vlan del dev PORT vid N`.
    static NetlinkMessage delete_port_vlan(int port_index, std::uint16_t vid);
};

} // namespace minivmm::net
