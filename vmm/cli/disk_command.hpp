// `minivmm disk create|resize|backup`: offline raw-image tools (vmm/disk) on the command line,
// with a progress bar for backups when stderr is a terminal.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace minivmm::cli {

class DiskCommand {
public:
    // Adds `disk` and its subcommands to `app`.
    explicit DiskCommand(CLI::App& app);
    DiskCommand(const DiskCommand&) = delete;
    DiskCommand& operator=(const DiskCommand&) = delete;

    [[nodiscard]] bool parsed() const { return m_command->parsed(); }
    // Runs the chosen tool and prints its result; errors are thrown (UserError/SysError).
    int run() const;

private:
    CLI::App* m_command;
    CLI::App* m_create;
    CLI::App* m_resize;
    CLI::App* m_backup;
    std::string m_path;
    std::string m_size;
    std::string m_source;
    std::string m_destination;
};

} // namespace minivmm::cli
