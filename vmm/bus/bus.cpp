#include "vmm/bus/bus.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace minivmm {

void Bus::add(std::uint64_t base, std::uint64_t length, std::shared_ptr<BusDevice> device)
{
    if (length == 0 || base + length < base)
        throw std::invalid_argument(fmt::format("{} bus: range {:#x}+{:#x} is empty or wraps", m_name, base, length));
    const std::uint64_t last = base + length - 1;
    for (const auto& range : m_ranges) {
        const std::uint64_t range_last = range.base + range.length - 1;
        if (base <= range_last && range.base <= last)
            throw std::invalid_argument(fmt::format("{} bus: {} at {:#x}+{:#x} overlaps {} at {:#x}+{:#x}", m_name,
                device->name(), base, length, range.device->name(), range.base, range.length));
    }
    auto at = std::upper_bound(m_ranges.begin(), m_ranges.end(), base,
        [](std::uint64_t value, const Range& range) { return value < range.base; });
    m_ranges.insert(at, Range{base, length, std::move(device)});
}

const Bus::Range* Bus::find(std::uint64_t address) const
{
    auto after = std::upper_bound(m_ranges.begin(), m_ranges.end(), address,
        [](std::uint64_t value, const Range& range) { return value < range.base; });
    if (after == m_ranges.begin())
        return nullptr;
    const Range& candidate = *(after - 1);
    return address - candidate.base < candidate.length ? &candidate : nullptr;
}

const Bus::Range* Bus::resolve(std::uint64_t address, std::size_t size, Result& result)
{
    const Range* range = find(address);
    if (!range) {
        result = {Outcome::Unclaimed, nullptr};
    } else if (size > range->length - (address - range->base)) {
        result = {Outcome::Crossing, range->device.get()};
        range = nullptr;
    } else {
        result = {Outcome::Handled, range->device.get()};
        return range;
    }
    m_unclaimed.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

Bus::Result Bus::read(std::uint64_t address, std::span<std::uint8_t> data)
{
    Result result{};
    if (const Range* range = resolve(address, data.size(), result))
        range->device->read(address - range->base, data);
    else
        std::fill(data.begin(), data.end(), 0xff);
    return result;
}

Bus::Result Bus::write(std::uint64_t address, std::span<const std::uint8_t> data)
{
    Result result{};
    if (const Range* range = resolve(address, data.size(), result))
        range->device->write(address - range->base, data);
    return result;
}

} // namespace minivmm
