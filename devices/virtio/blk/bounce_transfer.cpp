#include "devices/virtio/blk/bounce_transfer.hpp"

#include <algorithm>
#include <cerrno>

namespace minivmm::virtio {
namespace {

// Calls `copy(guest_address, offset_in_bytes, length)` for each piece of request bytes
// [at, at + length) as they lie in `ranges`; false when a copy fails or the ranges end first.
template<typename Copy>
bool for_each_piece(const std::vector<GuestRange>& ranges, std::uint64_t at, std::uint64_t length, Copy copy)
{
    std::uint64_t done = 0;
    for (const auto& range : ranges) {
        if (length == done)
            break;
        if (at >= range.length) {
            at -= range.length;
            continue;
        }
        const std::uint64_t piece = std::min<std::uint64_t>(range.length - at, length - done);
        if (!copy(range.address + at, done, piece))
            return false;
        done += piece;
        at = 0;
    }
    return done == length;
}

} // namespace

int BounceTransfer::run(const BlkIo& io)
{
    if (io.memory == nullptr)
        return -EFAULT;
    if (m_buffer.size() == 0)
        m_buffer = m_image.make_bounce_buffer(kBufferBytes);
    ++m_count;
    const GuestMemory& memory = *io.memory;
    std::uint64_t length = 0;
    for (const auto& range : io.guest_ranges)
        length += range.length;
    if (io.op == BlkIo::Op::Read) {
        return m_image.read_through(io.offset, length, m_buffer,
            [&](std::uint64_t at, std::span<const std::uint8_t> bytes) {
                return for_each_piece(io.guest_ranges, at, bytes.size(),
                    [&](std::uint64_t address, std::uint64_t from, std::uint64_t piece) {
                        return memory.write(address, bytes.subspan(from, piece));
                    });
            });
    }
    return m_image.write_through(io.offset, length, m_buffer, [&](std::uint64_t at, std::span<std::uint8_t> bytes) {
        return for_each_piece(io.guest_ranges, at, bytes.size(), [&](std::uint64_t address, std::uint64_t into, std::uint64_t piece) {
            return memory.read(address, bytes.subspan(into, piece));
        });
    });
}

} // namespace minivmm::virtio
