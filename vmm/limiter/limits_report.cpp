// format_limits_table / format_limits_json and the row builders.
#include "vmm/limiter/limits_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "vmm/limiter/human_units.hpp"

namespace minivmm::limiter {

namespace {

std::string_view unit_name(ReportUnit unit)
{
    switch (unit) {
    case ReportUnit::Bytes: return "bytes";
    case ReportUnit::BytesPerSecond: return "bytes_per_second";
    case ReportUnit::OpsPerSecond: return "ops_per_second";
    case ReportUnit::HostCpus: return "host_cpus";
    }
    return "unknown";
}

std::string trimmed_number(double value, int decimals)
{
    std::string text = fmt::format("{:.{}f}", value, decimals);
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0')
            text.pop_back();
        if (text.back() == '.')
            text.pop_back();
    }
    return text;
}

std::string human(double value, ReportUnit unit)
{
    switch (unit) {
    case ReportUnit::Bytes: return format_bytes(static_cast<std::uint64_t>(std::max(0.0, value)));
    case ReportUnit::BytesPerSecond: return format_byte_rate(value);
    case ReportUnit::OpsPerSecond: return trimmed_number(value, 1) + " op/s";
    case ReportUnit::HostCpus: return trimmed_number(value, 3) + " CPU";
    }
    return "?";
}

// JSON has no NaN or infinity: they become null.
std::string json_number(double value)
{
    if (!std::isfinite(value))
        return "null";
    return fmt::format("{}", value);
}

} // namespace

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            // RFC 8259 §7 (Strings): control characters U+0000..U+001F must be escaped.
            if (byte < 0x20)
                out += fmt::format("\\u{:04x}", byte);
            else
                out += c;
        }
    }
    out += '"';
    return out;
}

std::string format_limits_table(std::span<const ResourceReport> rows)
{
    using Line = std::array<std::string, 6>;
    std::vector<Line> lines;
    lines.push_back({"resource", "requested", "allocated", "limit", "used", "throttled"});
    for (const auto& row : rows) {
        lines.push_back({row.resource, human(row.requested, row.unit),
                         human(row.allocated, row.unit),
                         row.limit ? human(*row.limit, row.unit) : std::string("none"),
                         human(row.used, row.unit), format_duration(row.throttled)});
    }
    std::array<std::size_t, 6> widths{};
    for (const auto& line : lines)
        for (std::size_t i = 0; i < line.size(); ++i)
            widths[i] = std::max(widths[i], line[i].size());
    std::string out;
    for (const auto& line : lines) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            // The name is left-aligned, figures right-aligned; two spaces between columns.
            if (i == 0)
                text += fmt::format("{:<{}}", line[i], widths[i]);
            else
                text += fmt::format("  {:>{}}", line[i], widths[i]);
        }
        out += text + '\n';
    }
    return out;
}

std::string format_limits_json(std::span<const ResourceReport> rows)
{
    std::string out = R"({"type":"limits","resources":[)";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        if (i > 0)
            out += ',';
        out += fmt::format(R"({{"resource":{},"unit":"{}","requested":{},"allocated":{},)"
                           R"("limit":{},"used":{},"throttled_ns":{}}})",
                           json_string(row.resource), unit_name(row.unit),
                           json_number(row.requested), json_number(row.allocated),
                           row.limit ? json_number(*row.limit) : std::string("null"),
                           json_number(row.used), row.throttled.count());
    }
    out += "]}\n";
    return out;
}

std::vector<ResourceReport> memory_report_rows(const MemoryAllocation& allocation,
                                               std::span<const std::uint64_t> used)
{
    std::vector<ResourceReport> rows;
    for (std::size_t i = 0; i < allocation.slots.size(); ++i) {
        const auto& slot = allocation.slots[i];
        ResourceReport row;
        row.resource = fmt::format("memory slot {} @{:#x}", i, slot.guest_address);
        row.unit = ReportUnit::Bytes;
        row.requested = static_cast<double>(slot.requested);
        row.allocated = static_cast<double>(slot.allocated);
        if (slot.limit)
            row.limit = static_cast<double>(*slot.limit);
        row.used = i < used.size() ? static_cast<double>(used[i]) : 0.0;
        rows.push_back(row);
    }
    return rows;
}

std::vector<ResourceReport> cpu_report_rows(const CpuAllocation& allocation,
                                            std::span<const Nanos> cpu_used,
                                            std::span<const Nanos> throttled, Nanos elapsed)
{
    std::vector<ResourceReport> rows;
    for (std::size_t j = 0; j < allocation.vcpus.size(); ++j) {
        const auto& vcpu = allocation.vcpus[j];
        ResourceReport row;
        row.resource = fmt::format("vcpu {}", j);
        row.unit = ReportUnit::HostCpus;
        row.requested = vcpu.demand;
        row.allocated = vcpu.share;
        // This vCPU's part of S_limit is its share when the limit binds: report the share
        // of the VM-wide limit in proportion to the demand.
        if (allocation.limit)
            row.limit = *allocation.limit * vcpu.demand / allocation.demand;
        if (j < cpu_used.size() && elapsed.count() > 0)
            row.used = static_cast<double>(cpu_used[j].count())
                / static_cast<double>(elapsed.count());
        if (j < throttled.size())
            row.throttled = throttled[j];
        rows.push_back(row);
    }
    return rows;
}

} // namespace minivmm::limiter
