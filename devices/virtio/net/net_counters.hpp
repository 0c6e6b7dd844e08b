// NetCounters: what a virtio-net device (virtio-v1.2 §5.1 "Network Device") moved and dropped,
// for --trace and the limits report. Bytes count Ethernet frames, without the virtio-net header.
#pragma once

#include <cstdint>

namespace minivmm::virtio {

struct NetCounters {
    std::uint64_t rx_packets = 0;           // frames delivered to the guest
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_packets = 0;           // frames the backend accepted from the guest
    std::uint64_t tx_bytes = 0;
    std::uint64_t tx_dropped_malformed = 0; // transmit chains breaking a §5.1.6.2 rule
    std::uint64_t tx_dropped_backend = 0;   // the backend refused a valid frame (tap down, ...)
    std::uint64_t rx_dropped_too_big = 0;   // frame larger than the guest's receive buffers
    std::uint64_t rx_dropped_invalid = 0;   // runt frame, or an offload the guest did not negotiate
    std::uint64_t rx_bad_buffers = 0;       // receive chains too small for a header, returned empty
    std::uint64_t rx_backend_errors = 0;    // reads from the backend that failed
    bool operator==(const NetCounters&) const = default;
};

} // namespace minivmm::virtio
