// allocate_cpu and the CPU option parsers.
#include "vmm/limiter/cpu_allocation.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/decimal_number.hpp"
#include "vmm/limiter/duration_parser.hpp"
#include "vmm/limiter/human_units.hpp"

namespace minivmm::limiter {

namespace {

constexpr std::uint32_t kMaximumPriority = 1'000'000;

void check_period(Nanos period)
{
    if (period < kMinimumCpuPeriod || period > kMaximumCpuPeriod)
        throw UserError(fmt::format("--cpu-period {} is outside the allowed range {} to {}",
                                    format_duration(period), format_duration(kMinimumCpuPeriod),
                                    format_duration(kMaximumCpuPeriod)));
}

} // namespace

Nanos VcpuShare::budget(Nanos period) const
{
    return Nanos(static_cast<Nanos::rep>(std::llround(share * static_cast<double>(period.count()))));
}

bool CpuAllocation::throttled() const
{
    return std::any_of(vcpus.begin(), vcpus.end(), [](const VcpuShare& v) { return v.throttled(); });
}

CpuAllocation allocate_cpu(const CpuRequest& request)
{
    if (request.vcpu_count == 0)
        throw UserError("the VM needs at least one vCPU");
    check_period(request.period);
    if (request.limit) {
        const double limit = *request.limit;
        if (!std::isfinite(limit) || limit <= 0)
            throw UserError(fmt::format("--cpu-limit {} must be a positive number of host CPUs",
                                        limit));
        if (limit > request.host_cpus)
            throw UserError(fmt::format("--cpu-limit {} exceeds the {} host CPU(s) this process "
                                        "may run on; lower it or drop it",
                                        limit, request.host_cpus));
    }
    if (!request.priorities.empty()) {
        if (request.priorities.size() != request.vcpu_count)
            throw UserError(fmt::format("--vcpu-priority lists {} priorities for {} vCPUs; give "
                                        "exactly one per vCPU",
                                        request.priorities.size(), request.vcpu_count));
        if (!request.limit)
            throw UserError("--vcpu-priority divides --cpu-limit among the vCPUs; add --cpu-limit");
    }

    std::vector<std::uint32_t> priorities = request.priorities;
    if (priorities.empty())
        priorities.assign(request.vcpu_count, 1);
    for (std::size_t j = 0; j < priorities.size(); ++j) {
        if (priorities[j] == 0)
            throw UserError(fmt::format("--vcpu-priority of vCPU {} is 0; priorities start at 1",
                                        j));
    }
    const std::uint32_t top = *std::max_element(priorities.begin(), priorities.end());

    CpuAllocation result;
    result.limit = request.limit;
    result.available = request.host_cpus;
    result.period = request.period;
    for (std::uint32_t priority : priorities) {
        VcpuShare vcpu;
        vcpu.priority = priority;
        vcpu.demand = static_cast<double>(priority) / static_cast<double>(top);
        result.demand += vcpu.demand;
        result.vcpus.push_back(vcpu);
    }
    if (request.limit) {
        result.factor = std::min({1.0, *request.limit / result.demand,
                                  static_cast<double>(request.host_cpus) / result.demand});
    }
    for (auto& vcpu : result.vcpus)
        vcpu.share = std::min(1.0, vcpu.demand * result.factor);
    return result;
}

double parse_cpu_limit(std::string_view text)
{
    std::string_view rest = text;
    auto number = DecimalNumber::parse_prefix(rest);
    if (!number || !rest.empty())
        throw UserError(fmt::format("invalid --cpu-limit \"{}\": expected a positive number of "
                                    "host CPUs such as 0.5 or 2",
                                    text));
    const double limit = number->to_double();
    if (limit <= 0)
        throw UserError(fmt::format("invalid --cpu-limit \"{}\": it must be above 0", text));
    return limit;
}

std::vector<std::uint32_t> parse_vcpu_priorities(std::string_view text)
{
    std::vector<std::uint32_t> priorities;
    std::string_view rest = text;
    for (;;) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        std::string_view digits = item;
        auto number = DecimalNumber::parse_prefix(digits);
        if (!number || !digits.empty() || !number->is_whole() || number->integer == 0
            || number->integer > kMaximumPriority)
            throw UserError(fmt::format("invalid --vcpu-priority \"{}\": item {} (\"{}\") is not "
                                        "an integer from 1 to {}; write e.g. 1,3",
                                        text, priorities.size(), item, kMaximumPriority));
        priorities.push_back(static_cast<std::uint32_t>(number->integer));
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }
    return priorities;
}

Nanos parse_cpu_period(std::string_view text)
{
    const Nanos period = parse_duration(text);
    check_period(period);
    return period;
}

unsigned host_cpu_count()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0)
        throw SysError("sched_getaffinity");
    return static_cast<unsigned>(CPU_COUNT(&set));
}

} // namespace minivmm::limiter
