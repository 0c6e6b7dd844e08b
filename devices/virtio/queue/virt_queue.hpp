// VirtQueue: a running split virtqueue, device side (virtio-v1.2 §2.7 "Split Virtqueues"):
// pops validated descriptor chains (§2.7.5, §2.7.6), returns used buffers (§2.7.8), and decides
// whether the driver wants a used-buffer notification (§2.7.7, §2.7.10). Made only by
// QueueConfig::activate, which has checked the rings lie in guest RAM.
#pragma once

#include <cstdint>
#include <optional>

#include "devices/virtio/queue/descriptor_chain.hpp"
#include "devices/virtio/queue/queue_error.hpp"
#include "vmm/base/expected.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

// virtio-v1.2 §2.7.10 (Used Buffer Notification Suppression) and the Linux vring_need_event:
// notify when `event_idx` lies in the half-open window (old, new_idx] of indices just
// published, computed in u16 so it stays right across wrap-around.
constexpr bool need_event(std::uint16_t event_idx, std::uint16_t new_idx, std::uint16_t old)
{
    return static_cast<std::uint16_t>(new_idx - event_idx - 1) < static_cast<std::uint16_t>(new_idx - old);
}

class VirtQueue {
public:
    struct Layout {
        std::uint16_t size;
        std::uint64_t desc_table;
        std::uint64_t avail_ring;
        std::uint64_t used_ring;
    };
    using PopResult = Expected<std::optional<DescriptorChain>, QueueError>;

    // Use QueueConfig::activate; this constructor trusts `layout` to be validated.
    VirtQueue(const GuestMemory& memory, Layout layout, std::uint64_t features);

    // The next available chain, validated whole; std::nullopt when the driver has made nothing
    // new available; a QueueError when the driver broke a ring rule (the queue is then unusable
    // until the driver resets the device).
    PopResult pop();
    // Returns chain `head` to the driver with `length` bytes written into its buffers.
    void add_used(std::uint16_t head, std::uint32_t length);
    // Whether the driver asked for a notification for the buffers used since the last call
    // (VIRTIO_F_EVENT_IDX's used_event, or VIRTQ_AVAIL_F_NO_INTERRUPT without it).
    [[nodiscard]] bool needs_notification();

    // Snapshot (queue_state.hpp): how far the device got in the rings. The rings themselves are
    // in guest RAM, saved with it.
    struct Progress {
        std::uint16_t next_avail = 0;
        std::uint16_t next_used = 0;
        std::uint16_t signalled_used = 0;
    };
    [[nodiscard]] Progress progress() const { return {m_next_avail, m_next_used, m_signalled_used}; }
    // Any value is safe: pop() checks the avail index against next_avail on every call.
    void restore_progress(Progress progress)
    {
        m_next_avail = progress.next_avail;
        m_next_used = progress.next_used;
        m_signalled_used = progress.signalled_used;
    }
    // Chain `head` walked and validated exactly as pop() does: how a restored device gets back
    // the chains it had taken from the ring and not yet used when the snapshot was made.
    [[nodiscard]] Expected<DescriptorChain, QueueError> chain_at(std::uint16_t head) const { return walk_chain(head); }

    [[nodiscard]] std::uint16_t size() const { return m_layout.size; }
    [[nodiscard]] std::uint16_t next_avail() const { return m_next_avail; }
    [[nodiscard]] std::uint16_t next_used() const { return m_next_used; }

private:
    Expected<DescriptorChain, QueueError> walk_chain(std::uint16_t head) const;

    const GuestMemory* m_memory;
    Layout m_layout;
    bool m_event_idx;
    bool m_indirect;
    std::uint16_t m_next_avail = 0;     // the avail ring entry the device reads next
    std::uint16_t m_next_used = 0;      // the used ring entry the device writes next
    std::uint16_t m_signalled_used = 0; // m_next_used at the last needs_notification()
};

} // namespace minivmm::virtio
