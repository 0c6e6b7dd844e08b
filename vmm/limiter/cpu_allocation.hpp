// allocate_cpu: DESIGN.md's CPU formula ("Resource limiter: the allocation formulas"),
//   S_schedule,j = S_priority,j * g(S_available, S_limit),
//   g = min(1, S_limit / sum(S_priority), S_available / sum(S_priority)),
// mapped onto --cpu-limit, --vcpu-priority and --cpu-period, with their validation and parsers.
//
// How the options map onto the formula (every figure is in host CPUs, 1.0 = one host CPU):
//   S_priority,j = priority_j / max(priority): what vCPU j asks for. The highest-priority vCPU
//                  asks for one whole host CPU (a vCPU thread can never use more), the others
//                  proportionally less, so every demand is <= 1 and the result needs no cap.
//                  Without --vcpu-priority all priorities are 1 and every S_priority,j = 1.
//   S_limit      = --cpu-limit, the host CPUs the whole VM may use (0.5 = half of one CPU).
//   S_available  = the host CPUs this process may run on (sched_getaffinity).
// Worked examples: 2 vCPUs, --cpu-limit 0.5: S_priority = 1, 1, g = min(1, 0.5/2, A/2) = 0.25,
// so each vCPU gets 25%. With --vcpu-priority 1,3: S_priority = 1/3, 1, sum 4/3,
// g = 0.5 / (4/3) = 0.375, so 12.5% and 37.5%. Priorities keep their ratio exactly: when the
// top vCPU reaches one full CPU the others stop growing too, so a limit above sum(S_priority)
// is not used in full.
// Without --cpu-limit (S_limit = infinity) the VM is unthrottled: every share is 1.0 and no
// budget, timer or syscall is spent. The S_available term is then left to the host scheduler,
// which already shares the CPUs among runnable threads; a VMM quota of S_available / n would
// only waste the CPUs of idle vCPUs. With a limit, the limit must be <= S_available (checked),
// so the S_available term never binds; it is kept for the report.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

inline constexpr Nanos kDefaultCpuPeriod = std::chrono::milliseconds(100);
inline constexpr Nanos kMinimumCpuPeriod = std::chrono::milliseconds(1);
inline constexpr Nanos kMaximumCpuPeriod = std::chrono::seconds(1);

struct CpuRequest {
    unsigned vcpu_count = 1;
    std::optional<double> limit;           // --cpu-limit, in host CPUs; nullopt = no limit
    std::vector<std::uint32_t> priorities; // --vcpu-priority; empty = all equal
    unsigned host_cpus = 1;                // S_available (host_cpu_count())
    Nanos period = kDefaultCpuPeriod;      // --cpu-period
};

struct VcpuShare {
    std::uint32_t priority = 1;
    double demand = 1.0; // S_priority,j
    double share = 1.0;  // S_schedule,j: the part of one host CPU this vCPU may use per period
    // Only a vCPU below one full CPU gets a CpuBudget / VcpuThrottle.
    [[nodiscard]] bool throttled() const { return share < 1.0; }
    // share * period: the CPU time this vCPU may use per period.
    [[nodiscard]] Nanos budget(Nanos period) const;
};

struct CpuAllocation {
    std::vector<VcpuShare> vcpus;
    double demand = 0;           // sum(S_priority)
    std::optional<double> limit; // S_limit
    unsigned available = 0;      // S_available
    double factor = 1.0;         // g
    Nanos period = kDefaultCpuPeriod;
    [[nodiscard]] bool throttled() const; // any vCPU throttled
};

// Validates and computes. Throws UserError (one line) for a limit <= 0 or above the host's
// CPUs, a priority list whose length is not the vCPU count, a zero priority, priorities
// without a limit (they divide the limit and mean nothing without one), or a period outside
// [kMinimumCpuPeriod, kMaximumCpuPeriod].
CpuAllocation allocate_cpu(const CpuRequest& request);

// --cpu-limit CPUS: a positive decimal number of host CPUs ("0.5", "2"). Throws UserError.
double parse_cpu_limit(std::string_view text);
// --vcpu-priority P,P,...: positive integers (1..1000000) separated by commas. Throws UserError.
std::vector<std::uint32_t> parse_vcpu_priorities(std::string_view text);
// --cpu-period DURATION: parse_duration within [kMinimumCpuPeriod, kMaximumCpuPeriod].
Nanos parse_cpu_period(std::string_view text);

// The number of CPUs in this process's affinity mask (sched_getaffinity); throws SysError.
unsigned host_cpu_count();

} // namespace minivmm::limiter
