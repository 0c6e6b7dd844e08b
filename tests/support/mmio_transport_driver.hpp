// MmioTransportDriver: a guest driver's register writes to one VirtioMmioTransport (virtio-v1.2
// §4.2.3 "MMIO-specific Initialization And Device Operation", §3.1.1 "Device Initialization"),
// with a FakeVirtioDriver per queue for the rings, so a device can be brought to DRIVER_OK in a
// test the way a guest does it.
#pragma once

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/support/fake_virtio_driver.hpp"

namespace minivmm::testing {

class MmioTransportDriver {
public:
    static constexpr std::uint32_t kRunning = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER
        | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

    static std::uint32_t read32(virtio::VirtioMmioTransport& transport, std::uint64_t offset)
    {
        std::uint8_t bytes[4];
        transport.read(offset, bytes);
        std::uint32_t value;
        std::memcpy(&value, bytes, 4);
        return value;
    }
    static void write32(virtio::VirtioMmioTransport& transport, std::uint64_t offset, std::uint32_t value)
    {
        std::uint8_t bytes[4];
        std::memcpy(bytes, &value, 4);
        transport.write(offset, bytes);
    }

    // Negotiates `features`, sets up queue i from rings[i], and sets DRIVER_OK.
    static void start(virtio::VirtioMmioTransport& transport, std::uint64_t features,
        const std::vector<FakeVirtioDriver*>& rings)
    {
        write32(transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        write32(transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        write32(transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
        write32(transport, VIRTIO_MMIO_DRIVER_FEATURES, static_cast<std::uint32_t>(features));
        write32(transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        write32(transport, VIRTIO_MMIO_DRIVER_FEATURES, static_cast<std::uint32_t>(features >> 32));
        write32(transport, VIRTIO_MMIO_STATUS,
            VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
        for (std::size_t i = 0; i < rings.size(); ++i) {
            const FakeVirtioDriver& ring = *rings[i];
            write32(transport, VIRTIO_MMIO_QUEUE_SEL, static_cast<std::uint32_t>(i));
            write32(transport, VIRTIO_MMIO_QUEUE_NUM, ring.size());
            write32(transport, VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(ring.desc_table()));
            write32(transport, VIRTIO_MMIO_QUEUE_DESC_HIGH, static_cast<std::uint32_t>(ring.desc_table() >> 32));
            write32(transport, VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(ring.avail_ring()));
            write32(transport, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, static_cast<std::uint32_t>(ring.avail_ring() >> 32));
            write32(transport, VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(ring.used_ring()));
            write32(transport, VIRTIO_MMIO_QUEUE_USED_HIGH, static_cast<std::uint32_t>(ring.used_ring() >> 32));
            write32(transport, VIRTIO_MMIO_QUEUE_READY, 1);
        }
        write32(transport, VIRTIO_MMIO_STATUS, kRunning);
    }
};

} // namespace minivmm::testing
