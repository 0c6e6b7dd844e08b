// `minivmm switch create|delete|list|show|attach|detach`: the CLI11 subcommands over
// net::SwitchManager (virtual switches are Linux bridges: Documentation/networking/bridge.rst,
// bridge(8)), their validation (VLAN ids per IEEE 802.1Q) and their table output.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vmm/net/switch_manager.hpp"

namespace minivmm::cli {

enum class SwitchAction { Create, Delete, List, Show, Attach, Detach };

// A validated `minivmm switch ...` command line.
struct SwitchRequest {
    SwitchAction action = SwitchAction::List;
    std::string name;
    std::string port;
    net::VlanFiltering filtering = net::VlanFiltering::Off;
    std::optional<net::VlanId> vlan;
    net::VlanMode mode = net::VlanMode::Untagged;
};

class SwitchCommand {
public:
    // Adds `switch` and its subcommands to `app`.
    explicit SwitchCommand(CLI::App& app);
    SwitchCommand(const SwitchCommand&) = delete;
    SwitchCommand& operator=(const SwitchCommand&) = delete;

    [[nodiscard]] bool parsed() const { return m_command->parsed(); }
    // The parsed command line, validated: throws UserError for a VLAN id outside 1..4094.
    [[nodiscard]] SwitchRequest request() const;
    // Runs the request and prints its output; returns the exit status (errors are thrown).
    int run() const;

private:
    CLI::App* m_command;
    CLI::App* m_create;
    CLI::App* m_delete;
    CLI::App* m_list;
    CLI::App* m_show;
    CLI::App* m_attach;
    CLI::App* m_detach;
    CLI::Option* m_vlan_option = nullptr;
    std::string m_name;
    std::string m_port;
    bool m_vlan_filtering = false;
    long m_vlan = 0;
    bool m_tagged = false;
    bool m_untagged = false;
};

// `switch list`: one row per switch (NAME STATE VLAN-FILTERING PORTS).
std::string format_switch_list(const std::vector<net::SwitchInfo>& switches);
// `switch show`: a summary line, then one row per port (PORT KIND STATE PVID UNTAGGED TAGGED).
std::string format_switch_show(const net::SwitchInfo& info);

} // namespace minivmm::cli
