// WriteInterceptor: the seam through which a virtio-blk device lets a host-side job see every
// guest request that changes the image (write, write-zeroes, discard; virtio-v1.2 §5.2.6
// "Device Operation") before it reaches the image. The online backup's copy-before-write uses
// it to save the old contents of a range first.
#pragma once

#include <cstdint>

namespace minivmm::virtio {

class WriteInterceptor {
public:
    virtual ~WriteInterceptor() = default;
    // Called on the thread running the device (with its transport's lock held), before the
    // bytes [offset, offset + length) of the image change; the change waits until this
    // returns. It must not fail the guest's request: whatever goes wrong is the interceptor's
    // own business, and the request proceeds.
    virtual void before_write(std::uint64_t offset, std::uint64_t length) = 0;
};

} // namespace minivmm::virtio
