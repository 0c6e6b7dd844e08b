// NetBackend: where a virtio-net device's frames leave and enter the host (virtio-v1.2 §5.1.6
// "Device Operation"). Every frame crosses it with the 12-byte virtio-net header in front
// (struct virtio_net_hdr_v1, the tap's IFF_VNET_HDR format), so offloads pass through untouched.
// TapDevice is the real one; tests use a fake.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

namespace minivmm::virtio {

class NetBackend {
public:
    virtual ~NetBackend() = default;

    // Reads one frame, header first, into `buffer` (never blocks): its length; 0 when no frame
    // is waiting; -errno on a host failure.
    virtual std::int64_t read_frame(std::span<std::uint8_t> buffer) = 0;
    // Writes one frame, header first, gathered from `parts`: the bytes written, or -errno.
    virtual std::int64_t write_frame(std::span<const iovec> parts) = 0;
    // The fd that is readable while a frame is waiting (the event loop watches it).
    [[nodiscard]] virtual int fd() const = 0;
    // Which offloaded frames (TUN_F_* bits) the reader accepts from now on: 0 or -errno.
    virtual int set_offloads(unsigned tun_flags) = 0;
};

} // namespace minivmm::virtio
