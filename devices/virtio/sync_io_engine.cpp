#include "devices/virtio/sync_io_engine.hpp"

namespace minivmm::virtio {

void SyncIoEngine::submit(BlkIo io)
{
    int result = 0;
    switch (io.op) {
    case BlkIo::Op::Read: result = m_image.read(io.iov, io.offset); break;
    case BlkIo::Op::Write: result = m_image.write(io.iov, io.offset); break;
    case BlkIo::Op::Flush: result = m_image.flush(); break;
    }
    m_done.push_back({std::move(io), result});
}

} // namespace minivmm::virtio
