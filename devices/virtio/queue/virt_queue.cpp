#include "devices/virtio/queue/virt_queue.hpp"

#include "devices/virtio/queue/virtq_abi.hpp"

#include <atomic>

#include "devices/virtio/queue/ring_index.hpp"

namespace minivmm::virtio {
namespace {

// Offsets inside the rings (virtio-v1.2 §2.7.6 and §2.7.8).
constexpr std::uint64_t kRingFlags = 0;
constexpr std::uint64_t kRingIdx = 2;
constexpr std::uint64_t kRingEntries = 4;
constexpr std::uint64_t kDescriptorSize = sizeof(VirtqDesc);
static_assert(kDescriptorSize == 16);
static_assert(sizeof(VirtqUsedElem) == 8);

// virtio-v1.2 §2.7.5.2 (The Virtqueue Descriptor Table): "Drivers MUST NOT add a descriptor chain
// longer than 2^32 bytes in total".
constexpr std::uint64_t kMaxChainBytes = std::uint64_t(1) << 32;

class ChainBuilder {
public:
    ChainBuilder(const GuestMemory& memory, std::uint16_t head) : m_memory(memory) { m_chain.head = head; }

    // Adds one (non-indirect) descriptor's buffer; the copy `desc` is what was decided on.
    std::optional<QueueError> add(const VirtqDesc& desc)
    {
        // virtio-v1.2 §2.7.5.2 (The Virtqueue Descriptor Table): at most 2^32 bytes per chain,
        // summed in 64 bits so no sum of 32-bit lengths can wrap.
        m_total += desc.len;
        if (m_total > kMaxChainBytes)
            return QueueError::ChainTooLarge;
        if (!m_memory.contains(desc.addr, desc.len))
            return QueueError::BufferOutsideMemory;
        if (desc.flags & VIRTQ_DESC_F_WRITE) {
            m_chain.writable.push_back({desc.addr, desc.len});
            m_chain.writable_bytes += desc.len;
        } else {
            // virtio-v1.2 §2.7.4.2 (Driver Requirements: Message Framing): "The driver MUST place
            // any device-writable descriptor elements after any device-readable descriptor
            // elements."
            if (!m_chain.writable.empty())
                return QueueError::WritableBeforeReadable;
            m_chain.readable.push_back({desc.addr, desc.len});
            m_chain.readable_bytes += desc.len;
        }
        return std::nullopt;
    }
    DescriptorChain take() { return std::move(m_chain); }

private:
    const GuestMemory& m_memory;
    DescriptorChain m_chain;
    std::uint64_t m_total = 0;
};

} // namespace

VirtQueue::VirtQueue(const GuestMemory& memory, Layout layout, std::uint64_t features)
    : m_memory(&memory)
    , m_layout(layout)
    , m_event_idx(features & (std::uint64_t(1) << VIRTIO_F_EVENT_IDX))
    , m_indirect(features & (std::uint64_t(1) << VIRTIO_F_INDIRECT_DESC))
{
}

VirtQueue::PopResult VirtQueue::pop()
{
    const std::uint64_t avail_idx_address = m_layout.avail_ring + kRingIdx;
    // Acquire pairs with the driver's write barrier before it publishes avail->idx
    // (virtio-v1.2 §2.7.13.3 "Updating idx"): the ring entries and descriptors it covers are
    // visible once we see the new index.
    auto avail_idx = ring_index::load_acquire(*m_memory, avail_idx_address);
    if (!avail_idx)
        return Unexpected{QueueError::RingOutsideMemory};
    std::uint16_t pending = static_cast<std::uint16_t>(*avail_idx - m_next_avail);
    if (pending == 0 && m_event_idx) {
        // virtio-v1.2 §2.7.10 (Available Buffer Notification Suppression): with
        // VIRTIO_F_EVENT_IDX, avail_event tells the driver the idx after which to notify.
        const std::uint64_t avail_event = m_layout.used_ring + kRingEntries + 8 * std::uint64_t(m_layout.size);
        if (!m_memory->write_obj<std::uint16_t>(avail_event, m_next_avail))
            return Unexpected{QueueError::RingOutsideMemory};
        // Full barrier between publishing avail_event and re-reading avail->idx; pairs with the
        // driver's full barrier between publishing avail->idx and reading avail_event
        // (virtqueue_kick_prepare in Linux): one of the two sides sees the other's write, so a
        // buffer made available just now is either seen here or notified.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        avail_idx = ring_index::load_acquire(*m_memory, avail_idx_address);
        if (!avail_idx)
            return Unexpected{QueueError::RingOutsideMemory};
        pending = static_cast<std::uint16_t>(*avail_idx - m_next_avail);
    }
    if (pending == 0)
        return PopResult(std::nullopt);
    // virtio-v1.2 §2.7.6 (The Virtqueue Available Ring): the ring holds at most Queue Size
    // entries, so an idx more than size ahead of what the device consumed is hostile.
    if (pending > m_layout.size)
        return Unexpected{QueueError::AvailIndexTooFarAhead};

    const std::uint64_t entry = m_layout.avail_ring + kRingEntries + 2 * std::uint64_t(m_next_avail % m_layout.size);
    auto head = m_memory->read_obj<std::uint16_t>(entry);
    if (!head)
        return Unexpected{QueueError::RingOutsideMemory};
    ++m_next_avail;
    auto chain = walk_chain(*head);
    if (!chain)
        return Unexpected{chain.error()};
    return PopResult(std::optional<DescriptorChain>(std::move(*chain)));
}

Expected<DescriptorChain, QueueError> VirtQueue::walk_chain(std::uint16_t head) const
{
    const std::uint32_t size = m_layout.size;
    ChainBuilder builder(*m_memory, head);
    // virtio-v1.2 §2.7.5.3.1 (Indirect Descriptors, Driver Requirements): "A driver MUST NOT
    // create a descriptor chain longer than the Queue Size of the device" -- counted over direct
    // and indirect descriptors together, which also ends any loop after `size` steps.
    std::uint32_t visited = 0;
    std::uint32_t index = head;
    for (;;) {
        // virtio-v1.2 §2.7.5 (The Virtqueue Descriptor Table): heads and `next` index the table.
        if (index >= size)
            return Unexpected{QueueError::DescriptorIndexInvalid};
        if (++visited > size)
            return Unexpected{QueueError::ChainTooLong};
        // Copy the descriptor once; every decision below is made on the copy.
        auto desc = m_memory->read_obj<VirtqDesc>(m_layout.desc_table + kDescriptorSize * index);
        if (!desc)
            return Unexpected{QueueError::RingOutsideMemory};
        if (!(desc->flags & VIRTQ_DESC_F_INDIRECT)) {
            if (auto error = builder.add(*desc))
                return Unexpected{*error};
            if (!(desc->flags & VIRTQ_DESC_F_NEXT))
                return builder.take();
            index = desc->next;
            continue;
        }

        // virtio-v1.2 §2.7.5.3.1 (Indirect Descriptors): "The driver MUST NOT set the
        // VIRTQ_DESC_F_INDIRECT flag unless the VIRTIO_F_INDIRECT_DESC feature was negotiated."
        if (!m_indirect)
            return Unexpected{QueueError::IndirectNotNegotiated};
        // §2.7.5.3.1: "A driver MUST NOT set both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT in
        // flags." So the indirect table ends the chain.
        if (desc->flags & VIRTQ_DESC_F_NEXT)
            return Unexpected{QueueError::IndirectWithNext};
        // §2.7.5.3 (Indirect Descriptors): the table is len / 16 descriptors.
        if (desc->len == 0 || desc->len % kDescriptorSize != 0)
            return Unexpected{QueueError::IndirectLengthInvalid};
        if (!m_memory->contains(desc->addr, desc->len))
            return Unexpected{QueueError::BufferOutsideMemory};
        const std::uint64_t table = desc->addr;
        const std::uint32_t entries = desc->len / kDescriptorSize;
        std::uint32_t table_index = 0;
        for (;;) {
            // §2.7.5.3.1: VIRTQ_DESC_F_NEXT inside the table indexes the table itself.
            if (table_index >= entries)
                return Unexpected{QueueError::DescriptorIndexInvalid};
            if (++visited > size)
                return Unexpected{QueueError::ChainTooLong};
            auto inner = m_memory->read_obj<VirtqDesc>(table + kDescriptorSize * table_index);
            if (!inner)
                return Unexpected{QueueError::BufferOutsideMemory};
            // §2.7.5.3.1: "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within an
            // indirect descriptor (ie. only one table per descriptor)."
            if (inner->flags & VIRTQ_DESC_F_INDIRECT)
                return Unexpected{QueueError::IndirectNested};
            if (auto error = builder.add(*inner))
                return Unexpected{*error};
            if (!(inner->flags & VIRTQ_DESC_F_NEXT))
                return builder.take();
            table_index = inner->next;
        }
    }
}

void VirtQueue::add_used(std::uint16_t head, std::uint32_t length)
{
    const std::uint64_t slot = m_layout.used_ring + kRingEntries + 8 * std::uint64_t(m_next_used % m_layout.size);
    VirtqUsedElem element{};
    element.id = head;
    element.len = length;
    // Activation checked the used ring lies in RAM, so neither access can fail.
    (void)m_memory->write_obj(slot, element);
    ++m_next_used;
    // Release pairs with the driver's read barrier after it reads used->idx (virtio-v1.2 §2.7.8
    // "The Virtqueue Used Ring"; virtqueue_get_buf in Linux): the element and the buffer
    // contents written before are visible to the driver once it sees the new index.
    (void)ring_index::store_release(*m_memory, m_layout.used_ring + kRingIdx, m_next_used);
}

bool VirtQueue::needs_notification()
{
    // Full barrier between publishing used->idx and reading used_event / avail->flags; pairs
    // with the driver's full barrier between writing used_event (or clearing
    // VIRTQ_AVAIL_F_NO_INTERRUPT) and re-reading used->idx (virtqueue_enable_cb in Linux), so
    // either we see its request or it sees our new buffers: no lost interrupt.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const std::uint16_t old = m_signalled_used;
    const std::uint16_t now = m_next_used;
    m_signalled_used = now;
    if (m_event_idx) {
        // virtio-v1.2 §2.7.10 (Used Buffer Notification Suppression): used_event follows the
        // avail ring's entries.
        const std::uint64_t used_event_address = m_layout.avail_ring + kRingEntries + 2 * std::uint64_t(m_layout.size);
        auto used_event = m_memory->read_obj<std::uint16_t>(used_event_address);
        return used_event && need_event(*used_event, now, old);
    }
    if (now == old)
        return false;
    // virtio-v1.2 §2.7.7.2 (Device Requirements: Used Buffer Notification Suppression): without
    // VIRTIO_F_EVENT_IDX, the device must not notify if VIRTQ_AVAIL_F_NO_INTERRUPT is set
    // (it "SHOULD" not; we honour it).
    auto flags = m_memory->read_obj<std::uint16_t>(m_layout.avail_ring + kRingFlags);
    return flags && !(*flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

} // namespace minivmm::virtio
