// QueueConfig: the driver's register writes for one split virtqueue as they accumulate
// (virtio-v1.2 §4.2.3.2 "Virtqueue Configuration"), and activation: the one-time validation of
// size, alignment and ring placement (§2.7 "Split Virtqueues") that yields a running VirtQueue.
#pragma once

#include <cstdint>

#include "devices/virtio/queue/queue_error.hpp"
#include "devices/virtio/queue/virt_queue.hpp"
#include "vmm/base/expected.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

class QueueConfig {
public:
    // virtio-v1.2 §2.7 (Split Virtqueues): the maximum Queue Size value is 32768.
    static constexpr std::uint16_t kMaxQueueSize = 32768;

    explicit QueueConfig(std::uint16_t max_size) : m_max_size(max_size), m_size(max_size) {}

    [[nodiscard]] std::uint16_t max_size() const { return m_max_size; }
    [[nodiscard]] std::uint16_t size() const { return m_size; }
    [[nodiscard]] bool ready() const { return m_ready; }
    [[nodiscard]] std::uint64_t desc_table() const { return m_desc_table; }
    [[nodiscard]] std::uint64_t avail_ring() const { return m_avail_ring; }
    [[nodiscard]] std::uint64_t used_ring() const { return m_used_ring; }

    void set_size(std::uint16_t size) { m_size = size; }
    void set_ready(bool ready) { m_ready = ready; }
    void set_desc_table(std::uint64_t address) { m_desc_table = address; }
    void set_avail_ring(std::uint64_t address) { m_avail_ring = address; }
    void set_used_ring(std::uint64_t address) { m_used_ring = address; }
    // Replace the low or high 32 bits (the transports write 64-bit addresses in two halves).
    static std::uint64_t with_low(std::uint64_t value, std::uint32_t low) { return (value & ~0xffff'ffffull) | low; }
    static std::uint64_t with_high(std::uint64_t value, std::uint32_t high) { return (value & 0xffff'ffffull) | (std::uint64_t(high) << 32); }

    // Back to the state after device reset (virtio-v1.2 §2.4 "Device Reset").
    void reset() { *this = QueueConfig(m_max_size); }

    // Validates the configuration against `memory`; `features` are the negotiated feature bits
    // (VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC matter to the queue).
    [[nodiscard]] Expected<VirtQueue, QueueError> activate(const GuestMemory& memory, std::uint64_t features) const;

private:
    std::uint16_t m_max_size;
    std::uint16_t m_size;
    bool m_ready = false;
    std::uint64_t m_desc_table = 0;
    std::uint64_t m_avail_ring = 0;
    std::uint64_t m_used_ring = 0;
};

} // namespace minivmm::virtio
