#include "vmm/vm/exit_stats.hpp"

#include <fmt/format.h>

namespace minivmm::vm {

namespace {
void add(std::map<std::string, ExitStats::Entry, std::less<>>& table, std::string_view key, std::chrono::nanoseconds elapsed)
{
    auto it = table.find(key);
    if (it == table.end())
        it = table.emplace(std::string(key), ExitStats::Entry {}).first;
    ++it->second.count;
    it->second.total += elapsed;
}

void format_rows(std::string& out, std::string_view heading, const std::map<std::string, ExitStats::Entry, std::less<>>& table)
{
    out += fmt::format("  {:<24} {:>10} {:>14} {:>12}\n", heading, "count", "total ms", "mean us");
    for (const auto& [name, entry] : table) {
        const double total_ms = std::chrono::duration<double, std::milli>(entry.total).count();
        const double mean_us = entry.count ? std::chrono::duration<double, std::micro>(entry.total).count() / double(entry.count) : 0.0;
        out += fmt::format("  {:<24} {:>10} {:>14.3f} {:>12.2f}\n", name, entry.count, total_ms, mean_us);
    }
}
} // namespace

void ExitStats::record(std::string_view reason, std::string_view device, std::chrono::nanoseconds elapsed)
{
    add(m_by_reason, reason, elapsed);
    if (!device.empty())
        add(m_by_device, device, elapsed);
}

void ExitStats::merge(const ExitStats& other)
{
    for (const auto& [name, entry] : other.m_by_reason) {
        auto& mine = m_by_reason[name];
        mine.count += entry.count;
        mine.total += entry.total;
    }
    for (const auto& [name, entry] : other.m_by_device) {
        auto& mine = m_by_device[name];
        mine.count += entry.count;
        mine.total += entry.total;
    }
}

std::uint64_t ExitStats::total_exits() const
{
    std::uint64_t total = 0;
    for (const auto& [name, entry] : m_by_reason)
        total += entry.count;
    return total;
}

std::string ExitStats::format_summary() const
{
    std::string out = fmt::format("minivmm: VM exit summary ({} exits; time is the VMM's handling time)\n", total_exits());
    format_rows(out, "exit reason", m_by_reason);
    if (!m_by_device.empty())
        format_rows(out, "device", m_by_device);
    return out;
}

} // namespace minivmm::vm
