// DescriptorChain: one validated buffer chain popped from a split virtqueue (virtio-v1.2 §2.7.5,
// "The Virtqueue Descriptor Table"): its head index and its buffers split into the
// device-readable part and the device-writable part, each range already checked to lie in RAM.
#pragma once

#include <cstdint>
#include <vector>

namespace minivmm::virtio {

// A guest-physical byte range [address, address + length) known to lie in guest RAM.
struct GuestRange {
    std::uint64_t address;
    std::uint32_t length;
    bool operator==(const GuestRange&) const = default;
};

struct DescriptorChain {
    std::uint16_t head = 0;                // goes back to the driver in the used ring
    std::vector<GuestRange> readable;      // device-readable buffers, in chain order
    std::vector<GuestRange> writable;      // device-writable buffers, in chain order
    std::uint64_t readable_bytes = 0;
    std::uint64_t writable_bytes = 0;
};

} // namespace minivmm::virtio
