#include "devices/virtio/queue/queue_config.hpp"

#include "devices/virtio/queue/virtq_abi.hpp"

#include <bit>

namespace minivmm::virtio {

Expected<VirtQueue, QueueError> QueueConfig::activate(const GuestMemory& memory, std::uint64_t features) const
{
    // virtio-v1.2 §2.7 (Split Virtqueues): "Queue Size value is always a power of 2. The maximum
    // Queue Size value is 32768"; §4.2.3.2: the driver writes a size <= QueueNumMax.
    if (m_size == 0 || !std::has_single_bit(m_size) || m_size > m_max_size || m_size > kMaxQueueSize)
        return Unexpected{QueueError::SizeInvalid};
    // virtio-v1.2 §2.7 (Split Virtqueues), alignment table: Descriptor Table 16, Available Ring 2,
    // Used Ring 4.
    if (m_desc_table % kDescTableAlign != 0 || m_avail_ring % kAvailRingAlign != 0
        || m_used_ring % kUsedRingAlign != 0)
        return Unexpected{QueueError::RingMisaligned};
    // virtio-v1.2 §2.7 (Split Virtqueues), size table: Descriptor Table 16 * Queue Size,
    // Available Ring 6 + 2 * Queue Size (flags, idx, ring, used_event), Used Ring 6 + 8 * Queue
    // Size (flags, idx, ring, avail_event). Each must lie wholly in guest RAM; GuestMemory checks
    // [address, address + length) without overflow, so rings at the top of the address space fail.
    const std::uint64_t size = m_size;
    if (!memory.contains(m_desc_table, 16 * size) || !memory.contains(m_avail_ring, 6 + 2 * size)
        || !memory.contains(m_used_ring, 6 + 8 * size))
        return Unexpected{QueueError::RingOutsideMemory};
    return VirtQueue(memory, VirtQueue::Layout{m_size, m_desc_table, m_avail_ring, m_used_ring}, features);
}

} // namespace minivmm::virtio
