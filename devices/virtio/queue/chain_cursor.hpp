// ChainCursor: a position inside a list of guest ranges (one half of a DescriptorChain), so a
// device consumes bytes without caring how the driver split its buffers (virtio-v1.2 §2.7.4.1,
// "Device Requirements: Message Framing": the device must not assume a particular layout).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "devices/virtio/queue/descriptor_chain.hpp"

namespace minivmm::virtio {

class ChainCursor {
public:
    explicit ChainCursor(std::span<const GuestRange> ranges);

    [[nodiscard]] std::uint64_t remaining() const { return m_remaining; }
    // The guest ranges covering the next `length` bytes (split where needed), and moves past
    // them. Takes at most remaining() bytes.
    std::vector<GuestRange> take(std::uint64_t length);
    // Moves past `length` bytes (at most remaining()).
    void skip(std::uint64_t length) { (void)take(length); }

private:
    std::span<const GuestRange> m_ranges;
    std::size_t m_index = 0;
    std::uint32_t m_offset = 0; // into m_ranges[m_index]
    std::uint64_t m_remaining = 0;
};

} // namespace minivmm::virtio
