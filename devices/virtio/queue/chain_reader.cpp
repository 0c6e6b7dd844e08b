#include "devices/virtio/queue/chain_reader.hpp"

namespace minivmm::virtio {

bool ChainReader::read(std::span<std::uint8_t> out)
{
    if (out.size() > m_cursor.remaining())
        return false;
    std::size_t done = 0;
    for (const auto& range : m_cursor.take(out.size())) {
        if (!m_memory.read(range.address, out.subspan(done, range.length)))
            return false;
        done += range.length;
    }
    return true;
}

} // namespace minivmm::virtio
