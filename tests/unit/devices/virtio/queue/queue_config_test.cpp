// Tests for QueueConfig::activate: virtio-v1.2 §2.7 (Split Virtqueues) size, alignment and
// placement rules.
#include <catch2/catch.hpp>

#include "devices/virtio/queue/virtq_abi.hpp"

#include "devices/virtio/queue/queue_config.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;

namespace {

QueueConfig good_config(std::uint16_t size = 16)
{
    QueueConfig config(256);
    config.set_size(size);
    config.set_desc_table(0x1000);
    config.set_avail_ring(0x3000);
    config.set_used_ring(0x4000);
    return config;
}

QueueError activation_error(const GuestMemory& memory, const QueueConfig& config)
{
    auto queue = config.activate(memory, 0);
    REQUIRE_FALSE(queue.has_value());
    return queue.error();
}

} // namespace

TEST_CASE("virtio-v1.2 §2.7: a valid queue configuration activates")
{
    auto memory = testing::make_test_memory(1 << 20);
    auto queue = good_config().activate(memory, 0);
    REQUIRE(queue.has_value());
    CHECK(queue->size() == 16);
}

TEST_CASE("virtio-v1.2 §2.7: queue size must be a non-zero power of 2 no larger than the maximum")
{
    auto memory = testing::make_test_memory(1 << 20);
    CHECK(activation_error(memory, good_config(0)) == QueueError::SizeInvalid);
    CHECK(activation_error(memory, good_config(3)) == QueueError::SizeInvalid);
    CHECK(activation_error(memory, good_config(512)) == QueueError::SizeInvalid);
    CHECK(good_config(256).activate(memory, 0).has_value());
    CHECK(good_config(1).activate(memory, 0).has_value());
}

TEST_CASE("virtio-v1.2 §2.7: rings must be aligned (desc 16, avail 2, used 4)")
{
    auto memory = testing::make_test_memory(1 << 20);
    auto config = good_config();
    config.set_desc_table(0x1008);
    CHECK(activation_error(memory, config) == QueueError::RingMisaligned);
    config = good_config();
    config.set_avail_ring(0x3001);
    CHECK(activation_error(memory, config) == QueueError::RingMisaligned);
    config = good_config();
    config.set_used_ring(0x4002);
    CHECK(activation_error(memory, config) == QueueError::RingMisaligned);
    config = good_config();
    config.set_avail_ring(0x3002);
    config.set_used_ring(0x4004);
    CHECK(config.activate(memory, 0).has_value());
}

TEST_CASE("virtio-v1.2 §2.7: every ring, event fields included, must lie wholly in guest RAM")
{
    const std::uint64_t ram = 1 << 20;
    auto memory = testing::make_test_memory(ram);
    auto config = good_config(16);
    config.set_desc_table(ram - 16 * 16 + 16); // last descriptor sticks out by 16 bytes
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);

    config = good_config(16);
    config.set_avail_ring(ram - (4 + 2 * 16)); // ring fits, used_event does not
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);
    config.set_avail_ring(ram - (6 + 2 * 16));
    CHECK(config.activate(memory, 0).has_value());

    config = good_config(16);
    config.set_used_ring(ram - (4 + 8 * 16)); // ring fits, avail_event does not
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);

    config = good_config(16);
    config.set_used_ring(ram + 0x1000); // beyond RAM entirely
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);
}

TEST_CASE("virtio-v1.2 §2.7: rings at the top of the 64-bit address space do not wrap into RAM")
{
    auto memory = testing::make_test_memory(1 << 20);
    auto config = good_config(16);
    config.set_desc_table(0xffff'ffff'ffff'ff00);
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);
    config = good_config(16);
    config.set_avail_ring(0xffff'ffff'ffff'fffe);
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);
    config = good_config(16);
    config.set_used_ring(0xffff'ffff'ffff'fffc);
    CHECK(activation_error(memory, config) == QueueError::RingOutsideMemory);
}

TEST_CASE("QueueConfig: low and high halves compose 64-bit ring addresses; reset restores defaults")
{
    QueueConfig config(64);
    config.set_desc_table(QueueConfig::with_low(config.desc_table(), 0x1234'5000));
    config.set_desc_table(QueueConfig::with_high(config.desc_table(), 0x1));
    CHECK(config.desc_table() == 0x1'1234'5000);
    config.set_size(8);
    config.set_ready(true);
    config.reset();
    CHECK(config.desc_table() == 0);
    CHECK(config.size() == 64);
    CHECK_FALSE(config.ready());
}
