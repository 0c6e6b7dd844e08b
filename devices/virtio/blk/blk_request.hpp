// BlkRequest: a virtio-blk request read out of a DescriptorChain (virtio-v1.2 §5.2.6 "Device
// Operation"), with no assumption about how the driver split it into descriptors (§2.7.4.1):
// the 16-byte header is the first readable bytes, the status byte is the last writable byte,
// and the payload is whatever lies between.
#pragma once

#include <cstdint>
#include <vector>

#include "devices/virtio/queue/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

struct BlkRequest {
    enum class Parse {
        Ok,
        NoStatusByte,  // no device-writable byte: nowhere to answer
        HeaderTooShort // fewer than 16 readable bytes: answered VIRTIO_BLK_S_IOERR
    };
    Parse parse = Parse::Ok;
    std::uint32_t type = 0;              // VIRTIO_BLK_T_*
    std::uint64_t sector = 0;
    std::vector<GuestRange> readable;    // device-readable payload after the header
    std::uint64_t readable_bytes = 0;
    std::vector<GuestRange> writable;    // device-writable payload before the status byte
    std::uint64_t writable_bytes = 0;
    std::uint64_t status_address = 0;    // valid unless parse == NoStatusByte
};

BlkRequest parse_blk_request(const GuestMemory& memory, const DescriptorChain& chain);

} // namespace minivmm::virtio
