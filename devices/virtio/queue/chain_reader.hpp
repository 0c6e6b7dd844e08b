// ChainReader: reads the device-readable part of a DescriptorChain as one byte stream
// (virtio-v1.2 §2.7.4.1, "Device Requirements: Message Framing").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "devices/virtio/queue/chain_cursor.hpp"
#include "devices/virtio/queue/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

class ChainReader {
public:
    ChainReader(const GuestMemory& memory, const DescriptorChain& chain)
        : m_memory(memory), m_cursor(chain.readable)
    {
    }

    [[nodiscard]] std::uint64_t remaining() const { return m_cursor.remaining(); }
    // Fills `out` from the stream; false (position unspecified) when fewer bytes remain.
    [[nodiscard]] bool read(std::span<std::uint8_t> out);
    template<typename T>
    [[nodiscard]] std::optional<T> read_obj()
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        if (!read({reinterpret_cast<std::uint8_t*>(&value), sizeof value}))
            return std::nullopt;
        return value;
    }
    // The guest ranges of the next `length` bytes, for vectored I/O straight from guest RAM.
    std::vector<GuestRange> take(std::uint64_t length) { return m_cursor.take(length); }

private:
    const GuestMemory& m_memory;
    ChainCursor m_cursor;
};

} // namespace minivmm::virtio
