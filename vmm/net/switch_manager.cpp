#include "vmm/net/switch_manager.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "vmm/base/sys_error.hpp"
#include "vmm/net/interface_name.hpp"
#include "vmm/net/netlink_ack.hpp"

namespace minivmm::net {

namespace {
bool is_permission_error(int error)
{
    return error == EPERM || error == EACCES;
}

std::string kind_of(const LinkInfo& link)
{
    return link.kind.empty() ? "network" : link.kind;
}

SwitchPort to_port(const LinkInfo& link)
{
    return SwitchPort { .name = link.name, .kind = link.kind, .up = link.is_up(), .vlans = link.vlans };
}

SwitchInfo to_switch(const LinkInfo& bridge)
{
    return SwitchInfo { .name = bridge.name,
        .up = bridge.is_up(),
        .vlan_filtering = bridge.vlan_filtering.value_or(false),
        .created_by_minivmm = bridge.alias == kSwitchAlias,
        .ports = {} };
}

void sort_ports(SwitchInfo& info)
{
    std::sort(
        info.ports.begin(), info.ports.end(), [](const SwitchPort& a, const SwitchPort& b) { return a.name < b.name; });
}
} // namespace

SwitchManager::SwitchManager() = default;

void SwitchManager::send(NetlinkMessage message, const std::string& action)
{
    try {
        m_socket.request(message, action);
    } catch (const NetlinkError& error) {
        // rtnetlink checks CAP_NET_ADMIN in the link's network namespace for every change.
        if (is_permission_error(error.error()))
            throw UserError(fmt::format("{} needs CAP_NET_ADMIN (run as root)", action));
        throw;
    }
}

std::optional<LinkInfo> SwitchManager::find_link(std::string_view name)
{
    std::optional<LinkInfo> found;
    auto request = LinkRequest::get_link(name);
    try {
        m_socket.request(request, fmt::format("looking up interface {}", name),
            [&](const nlmsghdr& message) { found = parse_link_info(message); });
    } catch (const NetlinkError& error) {
        if (error.error() == ENODEV)
            return std::nullopt;
        throw;
    }
    return found;
}

LinkInfo SwitchManager::require_switch(std::string_view name)
{
    check_interface_name(name, "switch name");
    auto link = find_link(name);
    if (!link)
        throw UserError(fmt::format("no switch named {}", name));
    if (!link->is_bridge())
        throw UserError(fmt::format("{} is not a switch (it is a {} interface)", name, kind_of(*link)));
    return *link;
}

LinkInfo SwitchManager::require_interface(std::string_view name, std::string_view role)
{
    check_interface_name(name, role);
    auto link = find_link(name);
    if (!link)
        throw UserError(fmt::format("no interface named {}", name));
    return *link;
}

std::vector<LinkInfo> SwitchManager::dump_links()
{
    std::vector<LinkInfo> links;
    auto request = LinkRequest::dump_links();
    m_socket.dump(request, "listing interfaces", [&](const nlmsghdr& message) {
        if (auto link = parse_link_info(message))
            links.push_back(std::move(*link));
    });
    return links;
}

std::vector<LinkInfo> SwitchManager::dump_bridge_ports()
{
    std::vector<LinkInfo> ports;
    auto request = LinkRequest::dump_bridge_ports();
    m_socket.dump(request, "listing bridge ports", [&](const nlmsghdr& message) {
        if (auto link = parse_link_info(message))
            ports.push_back(std::move(*link));
    });
    return ports;
}

void SwitchManager::create(std::string_view name, VlanFiltering filtering)
{
    check_interface_name(name, "switch name");
    const std::string action = fmt::format("creating switch {}", name);
    try {
        send(LinkRequest::new_bridge(name, filtering), action);
    } catch (const NetlinkError& error) {
        if (error.error() == EEXIST) {
            const auto existing = find_link(name);
            throw UserError(fmt::format("cannot create switch {}: the name is taken by an existing {} interface", name,
                existing ? kind_of(*existing) : "network"));
        }
        // The bridge driver refuses IFLA_BR_VLAN_FILTERING without CONFIG_BRIDGE_VLAN_FILTERING, and
        // an unknown kind without CONFIG_BRIDGE; the kernel then creates nothing.
        if (error.error() == EOPNOTSUPP && filtering == VlanFiltering::On)
            throw UserError(
                fmt::format("cannot create switch {} with VLAN filtering: this kernel's bridge has no VLAN filtering "
                            "(CONFIG_BRIDGE_VLAN_FILTERING is off)",
                    name));
        if (error.error() == EOPNOTSUPP)
            throw UserError(
                fmt::format("cannot create switch {}: this kernel has no bridge support (CONFIG_BRIDGE)", name));
        throw;
    }
    // Mark it as minivmm's and bring it up; a half-made switch is removed again.
    try {
        const auto created = find_link(name);
        if (!created)
            throw SysError(action, ENODEV);
        send(LinkRequest::set_alias_and_state(created->index, kSwitchAlias, LinkState::Up), action);
    } catch (...) {
        if (const auto created = find_link(name)) {
            auto undo = LinkRequest::delete_link(created->index);
            try {
                m_socket.request(undo, "removing half-created switch");
            } catch (const std::exception&) {
                // Keep the first error: it says what went wrong.
            }
        }
        throw;
    }
}

void SwitchManager::remove(std::string_view name)
{
    const LinkInfo bridge = require_switch(name);
    if (bridge.alias != kSwitchAlias)
        throw UserError(fmt::format(
            "{} is a bridge minivmm did not create (no '{}' alias): refusing to delete it", name, kSwitchAlias));
    send(LinkRequest::delete_link(bridge.index), fmt::format("deleting switch {}", name));
}

std::vector<SwitchInfo> SwitchManager::list()
{
    const auto links = dump_links();
    std::vector<SwitchInfo> switches;
    for (const auto& link : links) {
        if (!link.is_bridge() || link.alias != kSwitchAlias)
            continue;
        SwitchInfo info = to_switch(link);
        for (const auto& port : links)
            if (port.master == link.index && port.index != link.index)
                info.ports.push_back(to_port(port));
        sort_ports(info);
        switches.push_back(std::move(info));
    }
    std::sort(
        switches.begin(), switches.end(), [](const SwitchInfo& a, const SwitchInfo& b) { return a.name < b.name; });
    return switches;
}

SwitchInfo SwitchManager::show(std::string_view name)
{
    const LinkInfo bridge = require_switch(name);
    SwitchInfo info = to_switch(bridge);
    const auto links = dump_links();
    const auto bridge_ports = dump_bridge_ports();
    for (const auto& link : links) {
        if (link.master != bridge.index || link.index == bridge.index)
            continue;
        SwitchPort port = to_port(link);
        const auto with_vlans = std::find_if(bridge_ports.begin(), bridge_ports.end(),
            [&](const LinkInfo& candidate) { return candidate.index == link.index; });
        if (with_vlans != bridge_ports.end())
            port.vlans = with_vlans->vlans;
        info.ports.push_back(std::move(port));
    }
    sort_ports(info);
    return info;
}

void SwitchManager::set_port_vlan(
    const LinkInfo& bridge, const LinkInfo& port, bool joined_now, VlanId vlan, VlanMode mode)
{
    const std::string action
        = fmt::format("setting VLAN {} on port {} of switch {}", vlan.value(), port.name, bridge.name);
    std::vector<std::uint16_t> to_remove;
    if (joined_now) {
        // br_add_if() gives a new port the bridge's default PVID (IFLA_BR_VLAN_DEFAULT_PVID, 1
        // unless changed; 0 = none): left there, every port would share VLAN 1 and see each other.
        const std::uint16_t default_pvid = bridge.default_pvid.value_or(1);
        if (default_pvid != 0)
            to_remove.push_back(default_pvid);
    } else if (mode == VlanMode::Untagged) {
        // An access port has one untagged VLAN: the new one replaces the old.
        for (const auto& candidate : dump_bridge_ports())
            if (candidate.index == port.index)
                for (const auto& existing : candidate.vlans)
                    if ((existing.pvid || existing.untagged) && existing.vid != vlan.value())
                        to_remove.push_back(existing.vid);
    }
    for (const std::uint16_t vid : to_remove) {
        try {
            send(LinkRequest::delete_port_vlan(port.index, vid), action);
        } catch (const NetlinkError& error) {
            if (error.error() != ENOENT) // already gone
                throw;
        }
    }
    send(LinkRequest::add_port_vlan(port.index, vlan, mode), action);
}

void SwitchManager::attach(
    std::string_view switch_name, std::string_view port_name, std::optional<VlanId> vlan, VlanMode mode)
{
    const LinkInfo bridge = require_switch(switch_name);
    const LinkInfo port = require_interface(port_name, "port name");
    if (port.index == bridge.index)
        throw UserError(fmt::format("cannot attach switch {} to itself", switch_name));
    if (vlan && !bridge.vlan_filtering.value_or(false))
        throw UserError(fmt::format(
            "switch {} does not filter VLANs, so VLAN {} would not isolate {}: create the switch with --vlan-filtering",
            switch_name, vlan->value(), port_name));
    if (port.master != 0 && port.master != bridge.index) {
        const auto links = dump_links();
        const auto owner
            = std::find_if(links.begin(), links.end(), [&](const LinkInfo& link) { return link.index == port.master; });
        throw UserError(fmt::format("{} is already attached to {}: detach it first", port_name,
            owner != links.end() ? owner->name : "another bridge"));
    }
    const bool joined_now = port.master == 0;
    if (joined_now)
        send(LinkRequest::set_master(port.index, bridge.index),
            fmt::format("attaching {} to switch {}", port_name, switch_name));
    if (!vlan)
        return;
    try {
        set_port_vlan(bridge, port, joined_now, *vlan, mode);
    } catch (...) {
        if (joined_now) {
            auto undo = LinkRequest::set_master(port.index, 0);
            try {
                m_socket.request(undo, "releasing the port again");
            } catch (const std::exception&) {
                // Keep the first error.
            }
        }
        throw;
    }
}

void SwitchManager::detach(std::string_view switch_name, std::string_view port_name)
{
    const LinkInfo bridge = require_switch(switch_name);
    const LinkInfo port = require_interface(port_name, "port name");
    if (port.master != bridge.index)
        throw UserError(fmt::format("{} is not attached to switch {}", port_name, switch_name));
    send(LinkRequest::set_master(port.index, 0), fmt::format("detaching {} from switch {}", port_name, switch_name));
}

void SwitchManager::connect_tap(std::string_view tap, std::string_view switch_name, std::optional<VlanId> vlan)
{
    attach(switch_name, tap, vlan, VlanMode::Untagged);
    set_up(tap);
}

bool SwitchManager::interface_exists(std::string_view name)
{
    check_interface_name(name, "interface name");
    return find_link(name).has_value();
}

void SwitchManager::set_up(std::string_view name)
{
    const LinkInfo link = require_interface(name, "interface name");
    send(LinkRequest::set_state(link.index, LinkState::Up), fmt::format("bringing {} up", name));
}

} // namespace minivmm::net
