// SwitchManager: minivmm's virtual switches, which are Linux bridges (the kernel switches frames;
// nothing is switched here) managed over rtnetlink: create, delete, list, show, attach and detach
// ports with their 802.1Q VLANs (Documentation/networking/bridge.rst; rtnetlink(7); IEEE 802.1Q).
//
// Ownership: a switch minivmm creates carries the interface alias "minivmm-switch" (IFLA_IFALIAS,
// `ip link show` prints it). `list` shows only those, and `remove` deletes only those, so minivmm
// never lists or deletes a bridge an administrator or another tool made. `show`, `attach` and
// `detach` accept any bridge, so a VM can join an existing host bridge.
//
// VLANs: a VLAN on a port means something only when the bridge filters VLANs (IFLA_BR_VLAN_
// FILTERING); asking for one on a non-filtering switch is refused rather than silently ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/net/link_info.hpp"
#include "vmm/net/link_request.hpp"
#include "vmm/net/rtnetlink_socket.hpp"
#include "vmm/net/vlan_id.hpp"

namespace minivmm::net {

inline constexpr std::string_view kSwitchAlias = "minivmm-switch";

struct SwitchPort {
    std::string name;
    std::string kind; // "veth", "tun", ... (IFLA_INFO_KIND)
    bool up = false;
    std::vector<PortVlan> vlans; // by vid; empty when the kernel reports none
};

struct SwitchInfo {
    std::string name;
    bool up = false;
    bool vlan_filtering = false;
    bool created_by_minivmm = false; // carries the kSwitchAlias alias
    std::vector<SwitchPort> ports; // by name
};

class SwitchManager {
public:
    // Opens the rtnetlink socket (throws SysError).
    SwitchManager();

    // A new bridge named `name`, marked with kSwitchAlias and up. UserError when the name is invalid
    // or taken, VLAN filtering is missing from this kernel, or CAP_NET_ADMIN is missing.
    void create(std::string_view name, VlanFiltering filtering);
    // Deletes a switch minivmm created (its ports are released by the kernel).
    void remove(std::string_view name);
    // minivmm's switches (those with the alias), by name, with their ports (no VLANs).
    [[nodiscard]] std::vector<SwitchInfo> list();
    // One bridge with its ports and each port's VLANs.
    [[nodiscard]] SwitchInfo show(std::string_view name);

    // Puts interface `port` into switch `switch_name`. With a VLAN: the switch must filter VLANs;
    // a port joining the switch first loses the bridge's default VLAN (default_pvid, normally 1) so
    // that it reaches only the VLANs it is given. Untagged makes `vlan` the port's PVID and egress-
    // untagged VLAN (an access port; one that had another untagged VLAN loses it), Tagged adds
    // `vlan` to the VLANs the port carries tagged (a trunk; call again for more VLANs). Without a
    // VLAN the port keeps the kernel's defaults. Attaching again to the same switch only changes
    // VLANs; a port of another bridge is refused.
    void attach(std::string_view switch_name, std::string_view port, std::optional<VlanId> vlan, VlanMode mode);
    // Releases `port` from `switch_name` (the kernel drops its VLANs with it).
    void detach(std::string_view switch_name, std::string_view port);

    // For `minivmm run --net switch=NAME,vlan=ID`: the existing tap interface `tap` joins the switch
    // untagged in `vlan` (an access port; no VLAN: the switch's defaults) and is brought up.
    void connect_tap(std::string_view tap, std::string_view switch_name, std::optional<VlanId> vlan);

    [[nodiscard]] bool interface_exists(std::string_view name);
    // Sets IFF_UP on interface `name`.
    void set_up(std::string_view name);

private:
    [[nodiscard]] std::optional<LinkInfo> find_link(std::string_view name);
    // The bridge `name`, or UserError ("no switch named X", "X is not a switch").
    [[nodiscard]] LinkInfo require_switch(std::string_view name);
    [[nodiscard]] LinkInfo require_interface(std::string_view name, std::string_view role);
    [[nodiscard]] std::vector<LinkInfo> dump_links();
    [[nodiscard]] std::vector<LinkInfo> dump_bridge_ports();
    void send(NetlinkMessage message, const std::string& action);
    void set_port_vlan(const LinkInfo& bridge, const LinkInfo& port, bool joined_now, VlanId vlan, VlanMode mode);

    RtnetlinkSocket m_socket;
};

} // namespace minivmm::net
