#include "devices/virtio/blk/sync_io_engine.hpp"

namespace minivmm::virtio {

void SyncIoEngine::submit(BlkIo io)
{
    int result = 0;
    switch (io.op) {
    case BlkIo::Op::Read: result = m_bounce.needed(io) ? m_bounce.run(io) : m_image.read(io.iov, io.offset); break;
    case BlkIo::Op::Write: result = m_bounce.needed(io) ? m_bounce.run(io) : m_image.write(io.iov, io.offset); break;
    case BlkIo::Op::Flush: result = m_image.flush(); break;
    case BlkIo::Op::Discard:
    case BlkIo::Op::WriteZeroes: result = zero_ranges(io); break;
    }
    m_done.push_back({std::move(io), result});
}

int SyncIoEngine::zero_ranges(const BlkIo& io) const
{
    for (const auto& range : io.ranges) {
        const int result = io.op == BlkIo::Op::Discard ? m_image.discard(range.offset, range.length)
                                                       : m_image.write_zeroes(range.offset, range.length, range.mode);
        if (result != 0)
            return result;
    }
    return 0;
}

} // namespace minivmm::virtio
