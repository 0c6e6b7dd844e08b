// QueueError: every way a driver can break the split-virtqueue rules (virtio-v1.2 §2.7,
// "Split Virtqueues"), as a value: a broken rule is guest misbehaviour, never an exception.
#pragma once

#include <string_view>

namespace minivmm::virtio {

enum class QueueError {
    SizeInvalid,             // §2.7 (Split Virtqueues): size is zero, not a power of 2, or over the maximum
    RingMisaligned,          // §2.7 (Split Virtqueues): desc 16, avail 2, used 4 byte alignment
    RingOutsideMemory,       // a ring does not lie wholly in guest RAM
    AvailIndexTooFarAhead,   // §2.7.6 (The Virtqueue Available Ring): more than size new entries
    DescriptorIndexInvalid,  // §2.7.5 (The Virtqueue Descriptor Table): head or next >= size
    ChainTooLong,            // §2.7.5.2: longer than the queue size (includes loops)
    ChainTooLarge,           // §2.7.5.2: total length over 2^32 bytes
    WritableBeforeReadable,  // §2.7.4.2: a device-readable buffer after a device-writable one
    BufferOutsideMemory,     // a buffer does not lie wholly in guest RAM
    IndirectNotNegotiated,   // §2.7.5.3.1: VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC
    IndirectWithNext,        // §2.7.5.3.1: INDIRECT and NEXT both set
    IndirectNested,          // §2.7.5.3.1: INDIRECT inside an indirect table
    IndirectLengthInvalid,   // §2.7.5.3.1: table length zero or not a multiple of 16
};

constexpr std::string_view describe(QueueError error)
{
    switch (error) {
    case QueueError::SizeInvalid: return "queue size is zero, not a power of 2, or above the maximum";
    case QueueError::RingMisaligned: return "a ring address is misaligned";
    case QueueError::RingOutsideMemory: return "a ring does not lie in guest RAM";
    case QueueError::AvailIndexTooFarAhead: return "avail idx is more than the queue size ahead";
    case QueueError::DescriptorIndexInvalid: return "descriptor index out of range";
    case QueueError::ChainTooLong: return "descriptor chain longer than the queue size (loop?)";
    case QueueError::ChainTooLarge: return "descriptor chain over 2^32 bytes";
    case QueueError::WritableBeforeReadable: return "device-readable descriptor after a device-writable one";
    case QueueError::BufferOutsideMemory: return "buffer outside guest RAM";
    case QueueError::IndirectNotNegotiated: return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
    case QueueError::IndirectWithNext: return "descriptor has both INDIRECT and NEXT";
    case QueueError::IndirectNested: return "indirect descriptor inside an indirect table";
    case QueueError::IndirectLengthInvalid: return "indirect table length is zero or not a multiple of 16";
    }
    return "unknown queue error";
}

} // namespace minivmm::virtio
