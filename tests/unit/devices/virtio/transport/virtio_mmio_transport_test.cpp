// Tests for VirtioMmioTransport: virtio-v1.2 §4.2.2 (MMIO Device Register Layout), §3.1.1
// (Device Initialization), §2.2 (Feature Bits), §2.4 (Device Reset), §4.2.3.4 (Notifications).
#include <catch2/catch.hpp>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <cstring>

#include "devices/virtio/transport/virtio_mmio_transport.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "tests/support/fake_virtio_device.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDevice;
using minivmm::testing::FakeVirtioDriver;

namespace {

struct Fixture {
    Fixture()
        : memory(testing::make_test_memory(1 << 20))
        , transport("fake", std::make_unique<FakeVirtioDevice>(counters), memory, line)
        , driver(memory)
    {
    }
    std::uint32_t read32(std::uint64_t offset)
    {
        std::uint8_t bytes[4];
        transport.read(offset, bytes);
        std::uint32_t value;
        std::memcpy(&value, bytes, 4);
        return value;
    }
    void write32(std::uint64_t offset, std::uint32_t value)
    {
        std::uint8_t bytes[4];
        std::memcpy(bytes, &value, 4);
        transport.write(offset, bytes);
    }
    void negotiate(std::uint64_t features = FakeVirtioDevice::kFeatures)
    {
        write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
        write32(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<std::uint32_t>(features));
        write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        write32(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<std::uint32_t>(features >> 32));
        write32(VIRTIO_MMIO_STATUS,
            VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    }
    void setup_queue0()
    {
        write32(VIRTIO_MMIO_QUEUE_SEL, 0);
        write32(VIRTIO_MMIO_QUEUE_NUM, driver.size());
        write32(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_table()));
        write32(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
        write32(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_ring()));
        write32(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
        write32(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_ring()));
        write32(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
        write32(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    void start()
    {
        negotiate();
        setup_queue0();
        write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER
                | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    }

    FakeVirtioDevice::Counters counters;
    testing::FakeInterruptLine line;
    GuestMemory memory;
    VirtioMmioTransport transport;
    FakeVirtioDriver driver;
};

constexpr std::uint32_t kAllStatus = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER
    | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

} // namespace

TEST_CASE("virtio-v1.2 §4.2.2: identification registers read magic, version 2, device and vendor id")
{
    Fixture f;
    CHECK(f.read32(VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
    CHECK(f.read32(VIRTIO_MMIO_VERSION) == 2);
    CHECK(f.read32(VIRTIO_MMIO_DEVICE_ID) == FakeVirtioDevice::kDeviceId);
    CHECK(f.read32(VIRTIO_MMIO_VENDOR_ID) == VirtioMmioTransport::kVendorId);
    CHECK(f.read32(VIRTIO_MMIO_SHM_LEN_LOW) == 0xffffffff);
}

TEST_CASE("virtio-v1.2 §4.2.2: DeviceFeatures shows the 32-bit word DeviceFeaturesSel selects")
{
    Fixture f;
    f.write32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    CHECK(f.read32(VIRTIO_MMIO_DEVICE_FEATURES) == static_cast<std::uint32_t>(FakeVirtioDevice::kFeatures));
    f.write32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    CHECK(f.read32(VIRTIO_MMIO_DEVICE_FEATURES) == 1); // VIRTIO_F_VERSION_1 is bit 32
    f.write32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    CHECK(f.read32(VIRTIO_MMIO_DEVICE_FEATURES) == 0);
}

TEST_CASE("virtio-v1.2 §3.1.1: the initialization sequence reaches DRIVER_OK and activates the device")
{
    Fixture f;
    f.start();
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == kAllStatus);
    CHECK(f.counters.activations == 1);
}

TEST_CASE("virtio-v1.2 §2.2.1: FEATURES_OK is refused when the driver accepts a bit not offered")
{
    Fixture f;
    f.negotiate(FakeVirtioDevice::kFeatures | feature_bit(5));
    CHECK_FALSE(f.read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
    // DRIVER_OK without FEATURES_OK does not start the device.
    f.write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(f.counters.activations == 0);
}

TEST_CASE("virtio-v1.2 §6.1: FEATURES_OK is refused without VIRTIO_F_VERSION_1")
{
    Fixture f;
    f.negotiate(FakeVirtioDevice::kFeatures & ~feature_bit(32));
    CHECK_FALSE(f.read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
}

TEST_CASE("virtio-v1.2 §3.1.1: status bits out of order are not accepted")
{
    Fixture f;
    f.write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER); // DRIVER before ACKNOWLEDGE
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == 0);
    f.write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == VIRTIO_CONFIG_S_ACKNOWLEDGE);
}

TEST_CASE("virtio-v1.2 §3.1.1: DriverFeatures written after FEATURES_OK are ignored")
{
    Fixture f;
    f.negotiate();
    f.write32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    f.write32(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
    f.setup_queue0();
    f.write32(VIRTIO_MMIO_STATUS, kAllStatus);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == kAllStatus);
}

TEST_CASE("virtio-v1.2 §2.1.2: the driver cannot clear a status bit except by reset")
{
    Fixture f;
    f.negotiate();
    f.write32(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    CHECK(f.read32(VIRTIO_MMIO_STATUS)
        == (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK));
}

TEST_CASE("virtio-v1.2 §4.2.2: queue registers: QueueNumMax, QueueReady, 64-bit addresses")
{
    Fixture f;
    f.write32(VIRTIO_MMIO_QUEUE_SEL, 1);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 16);
    f.write32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    f.write32(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x2);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_DESC_LOW) == 0x1000);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_DESC_HIGH) == 0x2);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_READY) == 0);
    f.write32(VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_READY) == 1);
    f.write32(VIRTIO_MMIO_QUEUE_SEL, 2); // no such queue
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_READY) == 0);
}

TEST_CASE("virtio-v1.2 §4.2.3.4: a QueueNotify write processes the queue and raises VIRTIO_MMIO_INT_VRING")
{
    Fixture f;
    f.start();
    f.driver.add_chain({{0x10000, 8, FakeVirtioDriver::Access::DeviceWrites}});
    f.write32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(f.driver.used_idx() == 1);
    CHECK(f.read32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
    CHECK(f.line.pulses() == 1);
    f.write32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    CHECK(f.read32(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
}

TEST_CASE("virtio-v1.2 §4.2.3.3: notify() from the ioeventfd path does what a QueueNotify write does")
{
    Fixture f;
    f.start();
    f.driver.add_chain({{0x10000, 8, FakeVirtioDriver::Access::DeviceWrites}});
    f.transport.notify(0);
    CHECK(f.driver.used_idx() == 1);
    CHECK(f.line.pulses() == 1);
    f.transport.notify(7); // no such queue: ignored
    CHECK(f.counters.processed == 1);
}

TEST_CASE("virtio-v1.2 §3.1.1: notifications before DRIVER_OK are ignored")
{
    Fixture f;
    f.negotiate();
    f.setup_queue0();
    f.transport.notify(0);
    CHECK(f.counters.processed == 0);
}

TEST_CASE("virtio-v1.2 §2.1.2: a broken ring sets DEVICE_NEEDS_RESET and raises a config interrupt")
{
    Fixture f;
    f.start();
    f.driver.set_avail_idx(200);
    f.transport.notify(0);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    CHECK(f.read32(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    CHECK(f.line.pulses() == 1);
    // Further notifications are ignored until reset.
    f.transport.notify(0);
    CHECK(f.counters.processed == 1);
}

TEST_CASE("virtio-v1.2 §2.1.2: a queue that fails activation at DRIVER_OK sets DEVICE_NEEDS_RESET")
{
    Fixture f;
    f.negotiate();
    f.setup_queue0();
    f.write32(VIRTIO_MMIO_QUEUE_NUM, 3); // not a power of 2
    f.write32(VIRTIO_MMIO_STATUS, kAllStatus);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    CHECK(f.counters.activations == 0);
}

TEST_CASE("virtio-v1.2 §2.4: writing 0 to Status resets the device; a clean restart then works")
{
    Fixture f;
    f.start();
    f.driver.set_avail_idx(200);
    f.transport.notify(0);
    REQUIRE(f.read32(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    f.write32(VIRTIO_MMIO_STATUS, 0);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == 0);
    CHECK(f.read32(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
    CHECK(f.counters.resets == 1);
    f.write32(VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK(f.read32(VIRTIO_MMIO_QUEUE_READY) == 0);

    // The driver reinitialises the rings from scratch.
    FakeVirtioDriver fresh(f.memory); // same ring addresses as f.driver, indices from 0
    fresh.set_avail_idx(0);
    (void)f.memory.write_obj<std::uint16_t>(fresh.used_ring() + 2, 0);
    f.start();
    fresh.add_chain({{0x10000, 8, FakeVirtioDriver::Access::DeviceWrites}});
    f.transport.notify(0);
    CHECK(fresh.used_idx() == 1);
    CHECK(fresh.used_element(0).len == 8);
}

TEST_CASE("virtio-v1.2 §4.2.2.2: config space reads of width 1, 2, 4 and 8 at aligned offsets")
{
    Fixture f;
    std::uint8_t one[1];
    f.transport.read(VIRTIO_MMIO_CONFIG + 3, one);
    CHECK(one[0] == 3);
    std::uint8_t two[2];
    f.transport.read(VIRTIO_MMIO_CONFIG + 2, two);
    CHECK((two[0] == 2 && two[1] == 3));
    CHECK(f.read32(VIRTIO_MMIO_CONFIG + 4) == 0x07060504);
    std::uint8_t eight[8];
    f.transport.read(VIRTIO_MMIO_CONFIG + 8, eight);
    CHECK((eight[0] == 8 && eight[7] == 15));
    // Misaligned: reads as zero, device not consulted.
    f.transport.read(VIRTIO_MMIO_CONFIG + 1, two);
    CHECK((two[0] == 0 && two[1] == 0));
    // Beyond the structure: zero.
    CHECK(f.read32(VIRTIO_MMIO_CONFIG + 0x100) == 0);
    // Config writes reach the device.
    const std::uint8_t value[2] = {0xaa, 0xbb};
    f.transport.write(VIRTIO_MMIO_CONFIG + 2, value);
    CHECK(f.counters.config_writes == std::vector<std::uint8_t>{0xaa, 0xbb});
}

TEST_CASE("virtio-v1.2 §4.2.2.2: control registers accept only aligned 32-bit accesses")
{
    Fixture f;
    std::uint8_t two[2] = {0xff, 0xff};
    f.transport.read(VIRTIO_MMIO_MAGIC_VALUE, two);
    CHECK((two[0] == 0 && two[1] == 0));
    const std::uint8_t ack[2] = {1, 0};
    f.transport.write(VIRTIO_MMIO_STATUS, ack);
    CHECK(f.read32(VIRTIO_MMIO_STATUS) == 0);
}

TEST_CASE("virtio-v1.2 §4.2.2: signal_config_change bumps ConfigGeneration and raises VIRTIO_MMIO_INT_CONFIG")
{
    Fixture f;
    const auto before = f.read32(VIRTIO_MMIO_CONFIG_GENERATION);
    f.transport.signal_config_change();
    CHECK(f.read32(VIRTIO_MMIO_CONFIG_GENERATION) == before + 1);
    CHECK(f.read32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_CONFIG);
    CHECK(f.line.pulses() == 1);
}
