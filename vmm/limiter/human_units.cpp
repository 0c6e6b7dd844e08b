// Human-readable bytes, rates and durations.
#include "vmm/limiter/human_units.hpp"

#include <array>
#include <cmath>

#include <fmt/format.h>

namespace minivmm::limiter {

namespace {

// Two decimals at most, without trailing zeros ("1.5", "2", "0.25").
std::string short_number(double value)
{
    std::string text = fmt::format("{:.2f}", value);
    while (text.back() == '0')
        text.pop_back();
    if (text.back() == '.')
        text.pop_back();
    return text;
}

std::string scaled_bytes(double value, std::string_view suffix)
{
    static constexpr std::array<std::string_view, 6> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < kUnits.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{} {}{}", short_number(value), kUnits[unit], suffix);
}

} // namespace

std::string format_bytes(std::uint64_t bytes)
{
    return scaled_bytes(static_cast<double>(bytes), "");
}

std::string format_byte_rate(double bytes_per_second)
{
    return scaled_bytes(bytes_per_second, "/s");
}

std::string format_duration(Nanos duration)
{
    const double ns = static_cast<double>(duration.count());
    if (ns == 0)
        return "0 s";
    if (std::fabs(ns) >= 1e9)
        return fmt::format("{} s", short_number(ns / 1e9));
    if (std::fabs(ns) >= 1e6)
        return fmt::format("{} ms", short_number(ns / 1e6));
    if (std::fabs(ns) >= 1e3)
        return fmt::format("{} us", short_number(ns / 1e3));
    return fmt::format("{} ns", short_number(ns));
}

} // namespace minivmm::limiter
