// The split-virtqueue guest ABI (virtio-v1.2 §2.7.5 "The Virtqueue Descriptor Table", §2.7.8
// "The Virtqueue Used Ring", §6 "Reserved Feature Bits") in the spec's own spelling.
// <linux/virtio_ring.h> would be the natural source but is not valid C++ (vring_init assigns
// void* to typed pointers), so these few lines restate it.
#pragma once

#include <cstdint>

namespace minivmm::virtio {

// virtio-v1.2 §2.7.5: descriptor flags.
inline constexpr std::uint16_t VIRTQ_DESC_F_NEXT = 1;
inline constexpr std::uint16_t VIRTQ_DESC_F_WRITE = 2;
inline constexpr std::uint16_t VIRTQ_DESC_F_INDIRECT = 4;
// virtio-v1.2 §2.7.6 / §2.7.8: ring flags.
inline constexpr std::uint16_t VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
inline constexpr std::uint16_t VIRTQ_USED_F_NO_NOTIFY = 1;
// virtio-v1.2 §6 (Reserved Feature Bits).
inline constexpr unsigned VIRTIO_F_INDIRECT_DESC = 28;
inline constexpr unsigned VIRTIO_F_EVENT_IDX = 29;
// virtio-v1.2 §2.7 (Split Virtqueues), alignment table.
inline constexpr std::uint64_t kDescTableAlign = 16;
inline constexpr std::uint64_t kAvailRingAlign = 2;
inline constexpr std::uint64_t kUsedRingAlign = 4;

// virtio-v1.2 §2.7.5: struct virtq_desc (little-endian; minivmm runs on little-endian x86-64).
struct VirtqDesc {
    std::uint64_t addr;
    std::uint32_t len;
    std::uint16_t flags;
    std::uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16);

// virtio-v1.2 §2.7.8: struct virtq_used_elem.
struct VirtqUsedElem {
    std::uint32_t id;
    std::uint32_t len;
};
static_assert(sizeof(VirtqUsedElem) == 8);

constexpr std::uint64_t feature_bit(unsigned bit) { return std::uint64_t(1) << bit; }

} // namespace minivmm::virtio
