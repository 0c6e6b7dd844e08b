#include "vmm/cli/switch_command.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace minivmm::cli {

namespace {
// Rows of cells, printed left-aligned in columns two spaces apart.
std::string format_table(const std::vector<std::vector<std::string>>& rows)
{
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
            line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
        out += line + "\n";
    }
    return out;
}

std::string join_or_dash(const std::vector<std::string>& items)
{
    return items.empty() ? "-" : fmt::format("{}", fmt::join(items, ","));
}

const char* state_name(bool up)
{
    return up ? "up" : "down";
}
} // namespace

SwitchCommand::SwitchCommand(CLI::App& app)
    : m_command(app.add_subcommand("switch", "Manage virtual switches (Linux bridges with 802.1Q VLANs)"))
{
    m_command->require_subcommand(1);

    m_create = m_command->add_subcommand("create", "Create a switch (a Linux bridge marked as minivmm's)");
    m_create->add_option("NAME", m_name, "Switch name (an interface name, at most 15 characters)")->required();
    m_create->add_flag("--vlan-filtering", m_vlan_filtering, "Filter frames by 802.1Q VLAN (needed for --vlan)");

    m_delete = m_command->add_subcommand("delete", "Delete a switch minivmm created");
    m_delete->add_option("NAME", m_name, "Switch name")->required();

    m_list = m_command->add_subcommand("list", "List minivmm's switches and their ports");

    m_show = m_command->add_subcommand("show", "Show a switch's ports and their VLANs");
    m_show->add_option("NAME", m_name, "Switch name")->required();

    m_attach = m_command->add_subcommand("attach", "Attach an interface to a switch, optionally in a VLAN");
    m_attach->add_option("NAME", m_name, "Switch name")->required();
    m_attach->add_option("PORT", m_port, "Interface to attach (a tap, veth, ...)")->required();
    m_vlan_option = m_attach->add_option("--vlan", m_vlan, "VLAN id, 1..4094");
    auto* untagged
        = m_attach->add_flag("--untagged", m_untagged, "Access port: the VLAN is the PVID, egress untagged (default)");
    auto* tagged = m_attach->add_flag("--tagged", m_tagged, "Trunk port: the VLAN crosses the port tagged");
    untagged->excludes(tagged)->needs(m_vlan_option);
    tagged->excludes(untagged)->needs(m_vlan_option);

    m_detach = m_command->add_subcommand("detach", "Detach an interface from a switch");
    m_detach->add_option("NAME", m_name, "Switch name")->required();
    m_detach->add_option("PORT", m_port, "Interface to detach")->required();
}

SwitchRequest SwitchCommand::request() const
{
    SwitchRequest request;
    request.name = m_name;
    request.port = m_port;
    if (m_create->parsed()) {
        request.action = SwitchAction::Create;
        request.filtering = m_vlan_filtering ? net::VlanFiltering::On : net::VlanFiltering::Off;
    } else if (m_delete->parsed()) {
        request.action = SwitchAction::Delete;
    } else if (m_show->parsed()) {
        request.action = SwitchAction::Show;
    } else if (m_attach->parsed()) {
        request.action = SwitchAction::Attach;
        if (m_vlan_option->count() > 0)
            request.vlan = net::VlanId::from_user(m_vlan, "--vlan");
        request.mode = m_tagged ? net::VlanMode::Tagged : net::VlanMode::Untagged;
    } else if (m_detach->parsed()) {
        request.action = SwitchAction::Detach;
    } else {
        request.action = SwitchAction::List;
    }
    return request;
}

int SwitchCommand::run() const
{
    const SwitchRequest request = this->request();
    net::SwitchManager switches;
    switch (request.action) {
    case SwitchAction::Create:
        switches.create(request.name, request.filtering);
        break;
    case SwitchAction::Delete:
        switches.remove(request.name);
        break;
    case SwitchAction::List:
        fmt::print("{}", format_switch_list(switches.list()));
        break;
    case SwitchAction::Show:
        fmt::print("{}", format_switch_show(switches.show(request.name)));
        break;
    case SwitchAction::Attach:
        switches.attach(request.name, request.port, request.vlan, request.mode);
        break;
    case SwitchAction::Detach:
        switches.detach(request.name, request.port);
        break;
    }
    return 0;
}

std::string format_switch_list(const std::vector<net::SwitchInfo>& switches)
{
    std::vector<std::vector<std::string>> rows { { "NAME", "STATE", "VLAN-FILTERING", "PORTS" } };
    for (const auto& info : switches) {
        std::vector<std::string> ports;
        for (const auto& port : info.ports)
            ports.push_back(port.name);
        rows.push_back({ info.name, state_name(info.up), info.vlan_filtering ? "on" : "off", join_or_dash(ports) });
    }
    return format_table(rows);
}

std::string format_switch_show(const net::SwitchInfo& info)
{
    std::string out = fmt::format("switch {}: {}, VLAN filtering {}, {}\n", info.name, state_name(info.up),
        info.vlan_filtering ? "on" : "off", info.created_by_minivmm ? "created by minivmm" : "not created by minivmm");
    if (info.ports.empty())
        return out + "no ports\n";
    std::vector<std::vector<std::string>> rows { { "PORT", "KIND", "STATE", "PVID", "UNTAGGED", "TAGGED" } };
    for (const auto& port : info.ports) {
        std::string pvid = "-";
        std::vector<std::string> untagged, tagged;
        for (const auto& vlan : port.vlans) {
            if (vlan.pvid)
                pvid = std::to_string(vlan.vid);
            (vlan.untagged ? untagged : tagged).push_back(std::to_string(vlan.vid));
        }
        rows.push_back({ port.name, port.kind.empty() ? "-" : port.kind, state_name(port.up), pvid,
            join_or_dash(untagged), join_or_dash(tagged) });
    }
    return out + format_table(rows);
}

} // namespace minivmm::cli
