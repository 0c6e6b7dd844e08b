// `minivmm run`: its options (CLI11) and their validation into a VmConfig.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "vmm/vm/machine_config.hpp"
#include "vmm/vm/vm_config.hpp"

namespace minivmm::cli {

// The raw strings CLI11 fills; validated by to_vm_config().
struct RunOptions {
    std::string kernel;
    std::string initrd;
    std::string cmdline;
    unsigned cpus = 1;
    std::string memory = "256M";
    std::string serial = "stdio";
    double timeout_seconds = 0;
    bool trace = false;
    std::string cpu_template = "auto";
    std::vector<std::string> disks;
    std::vector<std::string> nets;
    std::vector<std::string> command; // after `--`: run in the guest (command mode)
    // Resource limiter (README.md, "Resource limits").
    std::string memory_limit;
    std::string memory_reserve;
    std::string memory_policy = "strict";
    bool hugepages = false;
    std::string cpu_limit;
    std::string vcpu_priority;
    std::string cpu_period;
    bool limits_report = false;
    std::string metrics;
    double metrics_interval = 1.0;
    // Sandbox (README.md, "Sandbox").
    std::string seccomp = "enforce";
    std::string jail;
    std::string uid;
    std::string gid;
    std::string api_socket; // --api-socket PATH: serve the control API there (README.md, "API")
    std::string gdb;        // --gdb tcp:HOST:PORT | unix:PATH (README.md, "Debugging with gdb")
    bool gdb_wait = false;  // --gdb-wait: the guest waits for gdb before its first instruction
    std::string restore;    // --restore DIR: continue a snapshot instead of booting (README.md, "Snapshots")
    bool paused = false;    // --paused: with --restore, start paused (resume through the API)
};

void add_run_options(CLI::App& run, RunOptions& options);
// Throws UserError (one line, saying what to fix) for every bad value.
vm::VmConfig to_vm_config(const RunOptions& options);
// `run --restore DIR`: the machine comes from the snapshot (`machine`); only the options that do
// not change the machine apply (--serial, --api-socket, --timeout, --trace, --seccomp, --jail,
// --limits-report, --metrics, --disk id=ID,path=NEWPATH). Throws UserError for any other option
// and for a disk that is missing or resized.
vm::VmConfig to_restore_config(const RunOptions& options, const vm::MachineConfig& machine);

} // namespace minivmm::cli
