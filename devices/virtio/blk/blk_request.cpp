#include "devices/virtio/blk/blk_request.hpp"

#include <linux/virtio_blk.h>

#include "devices/virtio/queue/chain_reader.hpp"
#include "devices/virtio/queue/chain_writer.hpp"

namespace minivmm::virtio {

BlkRequest parse_blk_request(const GuestMemory& memory, const DescriptorChain& chain)
{
    BlkRequest request;
    // virtio-v1.2 §5.2.6 (Device Operation): struct virtio_blk_req ends with `u8 status`, the
    // last device-writable byte of the chain, wherever the driver put it.
    ChainWriter writer(memory, chain);
    if (writer.remaining() == 0) {
        request.parse = BlkRequest::Parse::NoStatusByte;
        return request;
    }
    request.writable_bytes = writer.remaining() - 1;
    request.writable = writer.take(request.writable_bytes);
    request.status_address = writer.take(1).front().address;

    // virtio-v1.2 §5.2.6: the header (type, reserved, sector) is the first 16 readable bytes,
    // possibly spread over several descriptors.
    ChainReader reader(memory, chain);
    auto header = reader.read_obj<virtio_blk_outhdr>();
    if (!header) {
        request.parse = BlkRequest::Parse::HeaderTooShort;
        return request;
    }
    request.type = header->type;
    request.sector = header->sector;
    request.readable_bytes = reader.remaining();
    request.readable = reader.take(request.readable_bytes);
    return request;
}

} // namespace minivmm::virtio
