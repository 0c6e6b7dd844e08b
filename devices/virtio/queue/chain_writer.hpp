// ChainWriter: writes the device-writable part of a DescriptorChain as one byte stream
// (virtio-v1.2 §2.7.4.1, "Device Requirements: Message Framing").
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "devices/virtio/queue/chain_cursor.hpp"
#include "devices/virtio/queue/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

class ChainWriter {
public:
    ChainWriter(const GuestMemory& memory, const DescriptorChain& chain)
        : m_memory(memory), m_cursor(chain.writable)
    {
    }

    [[nodiscard]] std::uint64_t remaining() const { return m_cursor.remaining(); }
    // Bytes written so far through write() or handed out by take().
    [[nodiscard]] std::uint64_t written() const { return m_written; }
    // Copies `in` into the stream; false (nothing guaranteed) when fewer bytes remain.
    [[nodiscard]] bool write(std::span<const std::uint8_t> in);
    template<typename T>
    [[nodiscard]] bool write_obj(const T& value)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        return write({reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
    }
    // The guest ranges of the next `length` bytes, for vectored I/O straight into guest RAM.
    std::vector<GuestRange> take(std::uint64_t length);

private:
    const GuestMemory& m_memory;
    ChainCursor m_cursor;
    std::uint64_t m_written = 0;
};

} // namespace minivmm::virtio
