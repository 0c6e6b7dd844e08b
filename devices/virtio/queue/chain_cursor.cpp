#include "devices/virtio/queue/chain_cursor.hpp"

#include <algorithm>

namespace minivmm::virtio {

ChainCursor::ChainCursor(std::span<const GuestRange> ranges) : m_ranges(ranges)
{
    for (const auto& range : ranges)
        m_remaining += range.length;
}

std::vector<GuestRange> ChainCursor::take(std::uint64_t length)
{
    std::vector<GuestRange> taken;
    length = std::min(length, m_remaining);
    m_remaining -= length;
    while (length > 0 && m_index < m_ranges.size()) {
        const GuestRange& range = m_ranges[m_index];
        const std::uint32_t left_in_range = range.length - m_offset;
        const auto part = static_cast<std::uint32_t>(std::min<std::uint64_t>(length, left_in_range));
        if (part > 0)
            taken.push_back({range.address + m_offset, part});
        length -= part;
        m_offset += part;
        if (m_offset == range.length) {
            ++m_index;
            m_offset = 0;
        }
    }
    return taken;
}

} // namespace minivmm::virtio
