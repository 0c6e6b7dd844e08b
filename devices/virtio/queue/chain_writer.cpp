#include "devices/virtio/queue/chain_writer.hpp"

namespace minivmm::virtio {

bool ChainWriter::write(std::span<const std::uint8_t> in)
{
    if (in.size() > m_cursor.remaining())
        return false;
    std::size_t done = 0;
    for (const auto& range : take(in.size())) {
        if (!m_memory.write(range.address, in.subspan(done, range.length)))
            return false;
        done += range.length;
    }
    return true;
}

std::vector<GuestRange> ChainWriter::take(std::uint64_t length)
{
    auto ranges = m_cursor.take(length);
    for (const auto& range : ranges)
        m_written += range.length;
    return ranges;
}

} // namespace minivmm::virtio
