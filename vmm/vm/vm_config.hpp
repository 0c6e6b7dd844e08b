// VmConfig: everything `minivmm run` was asked for, already parsed and validated by the CLI.
// Vm::build() is the one place that turns it into a running machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/limiter/cpu_allocation.hpp"
#include "vmm/limiter/memory_allocation.hpp"
#include "vmm/sandbox/sandbox_config.hpp"

namespace minivmm::vm {

enum class TraceMode { Off, On };

// The embedded resource limiter's settings (DESIGN.md, "Resource limiter").
struct LimitConfig {
    std::optional<std::uint64_t> memory_limit;                        // --memory-limit
    std::uint64_t memory_reserve = limiter::kDefaultMemoryReserve;    // --memory-reserve
    limiter::MemoryPolicy memory_policy = limiter::MemoryPolicy::Strict; // --memory-policy
    bool hugepages = false;                                           // --hugepages
    std::optional<double> cpu_limit;                                  // --cpu-limit
    std::vector<std::uint32_t> vcpu_priorities;                       // --vcpu-priority
    limiter::Nanos cpu_period = limiter::kDefaultCpuPeriod;           // --cpu-period
    bool report = false;                                              // --limits-report
    std::optional<std::string> metrics_path;                          // --metrics FILE
    std::chrono::milliseconds metrics_interval {1000};                // --metrics-interval
};

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
    std::vector<std::string> nets;         // --net specs, parsed by the virtio-net layer
    // --api-socket given: the control API may change limits live, so every device gets an I/O
    // gate (unlimited until PATCH /v1/limits). Without it nothing is paid for the API.
    bool control_api = false;
    bool gdb_stub = false; // --gdb: a VmDebugger exists (the CLI makes the socket and the server)
    bool gdb_wait = false; // --gdb-wait: no vCPU runs before gdb resumes it
    LimitConfig limits;
    sandbox::SandboxConfig sandbox;        // --seccomp, --jail/--uid/--gid
};

} // namespace minivmm::vm
