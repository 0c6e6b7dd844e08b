// ResourceReport and its two renderings: the --limits-report table and a JSON-lines record
// (DESIGN.md, "Resource limiter": each resource's requested, allocated and used).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/limiter/clock.hpp"
#include "vmm/limiter/cpu_allocation.hpp"
#include "vmm/limiter/memory_allocation.hpp"

namespace minivmm::limiter {

// The unit of every figure of a row.
enum class ReportUnit {
    Bytes,          // memory
    BytesPerSecond, // I/O bandwidth, migration
    OpsPerSecond,   // I/O requests
    HostCpus,       // CPU: 1.0 = one host CPU
};

struct ResourceReport {
    std::string resource;        // "memory slot 0", "vcpu 1", "blk0 bw"
    ReportUnit unit = ReportUnit::Bytes;
    double requested = 0;
    double allocated = 0;
    std::optional<double> limit; // nullopt: no limit
    double used = 0;             // for rates and CPU: the average over the run
    Nanos throttled{0};          // time spent held back by the limiter
};

// A fixed-width text table, one header line and one line per row, each ending in '\n'.
std::string format_limits_table(std::span<const ResourceReport> rows);
// One JSON object on one line ending in '\n':
// {"type":"limits","resources":[{"resource":...,"unit":"bytes","requested":...,"allocated":...,
//  "limit":...|null,"used":...,"throttled_ns":...},...]}
std::string format_limits_json(std::span<const ResourceReport> rows);
// A JSON string literal (with quotes) for `text`: escapes '"', '\\' and control characters.
std::string json_string(std::string_view text);

// Rows for each memory slot; `used` per slot (e.g. resident bytes), missing entries count 0.
std::vector<ResourceReport> memory_report_rows(const MemoryAllocation& allocation,
                                               std::span<const std::uint64_t> used = {});
// Rows for each vCPU; `cpu_used` and `throttled` per vCPU (from VcpuThrottle, or the thread's
// CPU time when unthrottled), `elapsed` the VM's wall time, so used = cpu_used / elapsed.
std::vector<ResourceReport> cpu_report_rows(const CpuAllocation& allocation,
                                            std::span<const Nanos> cpu_used,
                                            std::span<const Nanos> throttled, Nanos elapsed);

} // namespace minivmm::limiter
