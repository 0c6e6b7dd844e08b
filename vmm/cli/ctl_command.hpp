// `minivmm ctl SOCKET VERB ...`: the control API's command-line client, one verb per endpoint
// (like Cloud Hypervisor's ch-remote); README.md, "API". Exit codes: CtlExit (ctl_client.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace minivmm::cli {

class CtlCommand {
public:
    // Adds `ctl` and its verbs to `app`.
    explicit CtlCommand(CLI::App& app);
    CtlCommand(const CtlCommand&) = delete;
    CtlCommand& operator=(const CtlCommand&) = delete;

    [[nodiscard]] bool parsed() const { return m_command->parsed(); }
    // Sends the verb's request and prints the answer; returns a CtlExit code.
    int run() const;

private:
    int run_verb() const;
    int wait_for_backup() const;

    CLI::App* m_command;
    std::string m_socket;
    // Verbs.
    CLI::App* m_info;
    CLI::App* m_pause;
    CLI::App* m_resume;
    CLI::App* m_shutdown;
    CLI::App* m_stop;
    CLI::App* m_metrics;
    CLI::App* m_limits;
    CLI::App* m_disk_resize;
    CLI::App* m_disk_backup;
    CLI::App* m_snapshot;
    // Their arguments.
    double m_timeout = 0;
    std::string m_cpu_limit;
    std::string m_vcpu_priority;
    std::vector<std::string> m_disk_limits;
    std::vector<std::string> m_net_limits;
    std::string m_disk_id;
    std::string m_size;
    std::string m_destination;
    std::string m_bandwidth;
    bool m_no_wait = false;
    std::string m_snapshot_dir;
    bool m_leave_paused = false;
};

} // namespace minivmm::cli
