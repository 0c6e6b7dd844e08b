// RequestGate: the seam where per-queue I/O rate limiting (vmm/limiter token buckets, DESIGN.md
// "Resource limiter") plugs into a device. A request the gate refuses is kept by the device and
// retried on the next process_queue() -- throttled requests wait, they are never dropped.
#pragma once

#include <cstdint>

namespace minivmm::virtio {

class RequestGate {
public:
    virtual ~RequestGate() = default;
    // Whether one request moving `bytes` bytes of data on `queue` may start now; when this says
    // no, the gate arranges for the device's queue to be processed again later.
    virtual bool admit(std::uint16_t queue, std::uint64_t bytes) = 0;
};

} // namespace minivmm::virtio
