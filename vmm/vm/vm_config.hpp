// VmConfig: everything `minivmm run` was asked for, already parsed and validated by the CLI.
// Vm::build() is the one place that turns it into a running machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minivmm::vm {

enum class TraceMode { Off, On };

struct VmConfig {
    std::string kernel_path;
    std::optional<std::string> initrd_path;
    std::string cmdline;
    unsigned cpus = 1;
    std::uint64_t memory_bytes = 256ull << 20;
    std::string serial = "stdio";          // console spec: stdio | file:PATH | none
    std::optional<std::chrono::milliseconds> timeout;
    TraceMode trace = TraceMode::Off;
    std::string cpu_template = "auto";     // auto | none | software-kvm
    std::vector<std::string> disks;        // --disk specs, parsed by the virtio-blk layer
};

} // namespace minivmm::vm
