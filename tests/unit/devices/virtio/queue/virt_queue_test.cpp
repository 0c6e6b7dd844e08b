// Tests for VirtQueue: chain validation (virtio-v1.2 §2.7.5, §2.7.6), used ring (§2.7.8) and
// notification suppression (§2.7.7, §2.7.10).
#include <catch2/catch.hpp>

#include "devices/virtio/queue/virtq_abi.hpp"

#include "devices/virtio/queue/chain_reader.hpp"
#include "devices/virtio/queue/chain_writer.hpp"
#include "devices/virtio/queue/queue_config.hpp"
#include "devices/virtio/queue/virt_queue.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/test_guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::FakeVirtioDriver;
using Access = FakeVirtioDriver::Access;

namespace {

constexpr std::uint64_t kIndirectFeatures = std::uint64_t(1) << VIRTIO_F_INDIRECT_DESC;
constexpr std::uint64_t kEventIdxFeatures = std::uint64_t(1) << VIRTIO_F_EVENT_IDX;

struct Fixture {
    explicit Fixture(std::uint64_t features = 0, std::uint16_t size = 16)
        : memory(testing::make_test_memory(1 << 20)), driver(memory, size), queue(activate(features))
    {
    }
    VirtQueue activate(std::uint64_t features)
    {
        auto activated = driver.config().activate(memory, features);
        REQUIRE(activated.has_value());
        return std::move(*activated);
    }
    QueueError pop_error()
    {
        auto popped = queue.pop();
        REQUIRE_FALSE(popped.has_value());
        return popped.error();
    }
    DescriptorChain pop_chain()
    {
        auto popped = queue.pop();
        REQUIRE(popped.has_value());
        REQUIRE(popped->has_value());
        return std::move(**popped);
    }

    GuestMemory memory;
    FakeVirtioDriver driver;
    VirtQueue queue;
};

} // namespace

TEST_CASE("virtio-v1.2 §2.7.13: an empty queue pops nothing")
{
    Fixture f;
    auto popped = f.queue.pop();
    REQUIRE(popped.has_value());
    CHECK_FALSE(popped->has_value());
}

TEST_CASE("virtio-v1.2 §2.7.5: a chain splits into readable then writable buffers")
{
    Fixture f;
    const auto head = f.driver.add_chain({{0x10000, 16, Access::DeviceReads}, {0x20000, 512, Access::DeviceReads},
        {0x30000, 1, Access::DeviceWrites}});
    auto chain = f.pop_chain();
    CHECK(chain.head == head);
    CHECK(chain.readable == std::vector<GuestRange>{{0x10000, 16}, {0x20000, 512}});
    CHECK(chain.writable == std::vector<GuestRange>{{0x30000, 1}});
    CHECK(chain.readable_bytes == 528);
    CHECK(chain.writable_bytes == 1);
}

TEST_CASE("virtio-v1.2 §2.7.6: an avail idx more than the queue size ahead is rejected")
{
    Fixture f;
    f.driver.set_avail_idx(200);
    CHECK(f.pop_error() == QueueError::AvailIndexTooFarAhead);
}

TEST_CASE("virtio-v1.2 §2.7.6: an avail idx exactly the queue size ahead is accepted")
{
    Fixture f;
    for (int i = 0; i < 16; ++i)
        f.driver.add_chain({{0x10000, 4, Access::DeviceReads}});
    for (int i = 0; i < 16; ++i)
        (void)f.pop_chain();
}

TEST_CASE("virtio-v1.2 §2.7.5: a head index beyond the table is rejected")
{
    Fixture f;
    f.driver.publish(16);
    CHECK(f.pop_error() == QueueError::DescriptorIndexInvalid);
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: a descriptor loop is rejected after at most size steps")
{
    Fixture f;
    f.driver.write_descriptor(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 1);
    f.driver.write_descriptor(1, 0x10000, 4, VIRTQ_DESC_F_NEXT, 0);
    f.driver.publish(0);
    CHECK(f.pop_error() == QueueError::ChainTooLong);
}

TEST_CASE("virtio-v1.2 §2.7.5: a next index beyond the table is rejected")
{
    Fixture f;
    f.driver.write_descriptor(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 40);
    f.driver.publish(0);
    CHECK(f.pop_error() == QueueError::DescriptorIndexInvalid);
}

TEST_CASE("virtio-v1.2 §2.7.5.2: a buffer at 0xfffffffff000 with length 0xffffffff is rejected")
{
    Fixture f;
    f.driver.add_chain({{0xffff'ffff'f000, 0xffff'ffff, Access::DeviceWrites}});
    CHECK(f.pop_error() == QueueError::BufferOutsideMemory);
}

TEST_CASE("virtio-v1.2 §2.7.5.2: a buffer straddling the end of RAM is rejected")
{
    Fixture f;
    f.driver.add_chain({{(1 << 20) - 8, 16, Access::DeviceReads}});
    CHECK(f.pop_error() == QueueError::BufferOutsideMemory);
}

TEST_CASE("virtio-v1.2 §2.7.5.2: a chain over 2^32 bytes is rejected")
{
    // 2 GiB + 1 MiB of untouched RAM: every buffer lies in RAM, only the sum breaks the rule.
    auto memory = testing::make_test_memory((std::uint64_t(1) << 31) + (1 << 20));
    FakeVirtioDriver driver(memory);
    auto queue = driver.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    driver.add_chain({{0x10000, 0x8000'0000, Access::DeviceReads}, {0x10000, 0x8000'0000, Access::DeviceReads},
        {0x10000, 1, Access::DeviceReads}});
    auto popped = queue->pop();
    REQUIRE_FALSE(popped.has_value());
    CHECK(popped.error() == QueueError::ChainTooLarge);
}

TEST_CASE("virtio-v1.2 §2.7.5.2: a chain of exactly 2^32 bytes is accepted")
{
    auto memory = testing::make_test_memory((std::uint64_t(1) << 31) + (1 << 20));
    FakeVirtioDriver driver(memory);
    auto queue = driver.config().activate(memory, 0);
    REQUIRE(queue.has_value());
    driver.add_chain({{0x10000, 0x8000'0000, Access::DeviceReads}, {0x10000, 0x8000'0000, Access::DeviceReads}});
    auto popped = queue->pop();
    REQUIRE(popped.has_value());
    REQUIRE(popped->has_value());
    CHECK((*popped)->readable_bytes == std::uint64_t(1) << 32);
}

TEST_CASE("virtio-v1.2 §2.7.4.2: a device-readable buffer after a device-writable one is rejected")
{
    Fixture f;
    f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}, {0x20000, 4, Access::DeviceReads}});
    CHECK(f.pop_error() == QueueError::WritableBeforeReadable);
}

TEST_CASE("virtio-v1.2 §2.7.5.3: an indirect table is followed when negotiated")
{
    Fixture f(kIndirectFeatures);
    const auto head = f.driver.add_indirect_chain(
        {{0x20000, 16, Access::DeviceReads}, {0x21000, 8, Access::DeviceWrites}, {0x22000, 1, Access::DeviceWrites}});
    auto chain = f.pop_chain();
    CHECK(chain.head == head);
    CHECK(chain.readable == std::vector<GuestRange>{{0x20000, 16}});
    CHECK(chain.writable == std::vector<GuestRange>{{0x21000, 8}, {0x22000, 1}});
}

TEST_CASE("virtio-v1.2 §2.7.5.3.2: direct descriptors followed by one indirect table form one chain")
{
    Fixture f(kIndirectFeatures);
    const std::uint64_t table = 0x50000;
    f.driver.write_descriptor(table, 0, 0x21000, 8, VIRTQ_DESC_F_WRITE, 0);
    f.driver.write_descriptor(0, 0x20000, 16, VIRTQ_DESC_F_NEXT, 1);
    f.driver.write_descriptor(1, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
    f.driver.publish(0);
    auto chain = f.pop_chain();
    CHECK(chain.readable == std::vector<GuestRange>{{0x20000, 16}});
    CHECK(chain.writable == std::vector<GuestRange>{{0x21000, 8}});
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: an indirect descriptor without the feature is rejected")
{
    Fixture f;
    f.driver.add_indirect_chain({{0x20000, 16, Access::DeviceReads}});
    CHECK(f.pop_error() == QueueError::IndirectNotNegotiated);
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: a nested indirect descriptor is rejected")
{
    Fixture f(kIndirectFeatures);
    const std::uint64_t outer = 0x50000;
    const std::uint64_t inner = 0x51000;
    f.driver.write_descriptor(inner, 0, 0x20000, 16, 0, 0);
    f.driver.write_descriptor(outer, 0, inner, 16, VIRTQ_DESC_F_INDIRECT, 0);
    f.driver.write_descriptor(0, outer, 16, VIRTQ_DESC_F_INDIRECT, 0);
    f.driver.publish(0);
    CHECK(f.pop_error() == QueueError::IndirectNested);
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: an indirect table length that is zero or not a multiple of 16 is rejected")
{
    for (std::uint32_t length : {0u, 15u, 24u}) {
        Fixture f(kIndirectFeatures);
        f.driver.write_descriptor(0, 0x50000, length, VIRTQ_DESC_F_INDIRECT, 0);
        f.driver.publish(0);
        CHECK(f.pop_error() == QueueError::IndirectLengthInvalid);
    }
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: INDIRECT together with NEXT is rejected")
{
    Fixture f(kIndirectFeatures);
    f.driver.write_descriptor(0x50000, 0, 0x20000, 16, 0, 0);
    f.driver.write_descriptor(0, 0x50000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    f.driver.write_descriptor(1, 0x20000, 16, 0, 0);
    f.driver.publish(0);
    CHECK(f.pop_error() == QueueError::IndirectWithNext);
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: an indirect table outside RAM is rejected")
{
    Fixture f(kIndirectFeatures);
    f.driver.write_descriptor(0, 0xffff'ffff'ffff'fff0, 32, VIRTQ_DESC_F_INDIRECT, 0);
    f.driver.publish(0);
    CHECK(f.pop_error() == QueueError::BufferOutsideMemory);
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: NEXT inside an indirect table indexes the table; a loop or a bad index is rejected")
{
    {
        Fixture f(kIndirectFeatures);
        f.driver.write_descriptor(0x50000, 0, 0x20000, 4, VIRTQ_DESC_F_NEXT, 1);
        f.driver.write_descriptor(0x50000, 1, 0x20000, 4, VIRTQ_DESC_F_NEXT, 0);
        f.driver.write_descriptor(0, 0x50000, 32, VIRTQ_DESC_F_INDIRECT, 0);
        f.driver.publish(0);
        CHECK(f.pop_error() == QueueError::ChainTooLong);
    }
    {
        Fixture f(kIndirectFeatures);
        f.driver.write_descriptor(0x50000, 0, 0x20000, 4, VIRTQ_DESC_F_NEXT, 2);
        f.driver.write_descriptor(0, 0x50000, 32, VIRTQ_DESC_F_INDIRECT, 0);
        f.driver.publish(0);
        CHECK(f.pop_error() == QueueError::DescriptorIndexInvalid);
    }
}

TEST_CASE("virtio-v1.2 §2.7.5.3.1: a chain with more descriptors than the queue size is rejected, indirect ones included")
{
    Fixture f(kIndirectFeatures, 4);
    std::vector<FakeVirtioDriver::Buffer> buffers(5, {0x20000, 4, Access::DeviceReads});
    f.driver.add_indirect_chain(buffers);
    CHECK(f.pop_error() == QueueError::ChainTooLong);
}

TEST_CASE("virtio-v1.2 §2.7.8: add_used writes the element then publishes used idx")
{
    Fixture f;
    const auto head = f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
    (void)f.pop_chain();
    f.queue.add_used(head, 4);
    CHECK(f.driver.used_idx() == 1);
    CHECK(f.driver.used_element(0).id == head);
    CHECK(f.driver.used_element(0).len == 4);
}

TEST_CASE("virtio-v1.2 §2.7.4.1: Reader and Writer cross descriptor boundaries transparently")
{
    Fixture f;
    f.driver.write_bytes(0x10000, {1, 2, 3});
    f.driver.write_bytes(0x20000, {4, 5, 6, 7, 8});
    f.driver.add_chain({{0x10000, 3, Access::DeviceReads}, {0x20000, 5, Access::DeviceReads},
        {0x30000, 2, Access::DeviceWrites}, {0x31000, 3, Access::DeviceWrites}});
    auto chain = f.pop_chain();
    ChainReader reader(f.memory, chain);
    auto value = reader.read_obj<std::uint32_t>();
    REQUIRE(value);
    CHECK(*value == 0x04030201u);
    CHECK(reader.remaining() == 4);
    CHECK(reader.take(4) == std::vector<GuestRange>{{0x20001, 4}});
    std::uint8_t byte;
    CHECK_FALSE(reader.read({&byte, 1}));

    ChainWriter writer(f.memory, chain);
    const std::uint8_t out[] = {9, 8, 7, 6};
    REQUIRE(writer.write(out));
    CHECK(f.driver.read_bytes(0x30000, 2) == std::vector<std::uint8_t>{9, 8});
    CHECK(f.driver.read_bytes(0x31000, 2) == std::vector<std::uint8_t>{7, 6});
    CHECK(writer.remaining() == 1);
    CHECK(writer.written() == 4);
    CHECK_FALSE(writer.write(out));
}

TEST_CASE("virtio-v1.2 §2.7.10: need_event handles u16 wrap-around")
{
    STATIC_REQUIRE(need_event(0, 1, 0));
    STATIC_REQUIRE_FALSE(need_event(1, 1, 0));
    STATIC_REQUIRE(need_event(5, 10, 3));
    STATIC_REQUIRE_FALSE(need_event(10, 10, 3));
    STATIC_REQUIRE_FALSE(need_event(2, 10, 3));
    // Wrap: old 0xfffe, new 2 published 4 entries (0xfffe, 0xffff, 0, 1).
    STATIC_REQUIRE(need_event(0xffff, 2, 0xfffe));
    STATIC_REQUIRE(need_event(0, 2, 0xfffe));
    STATIC_REQUIRE(need_event(1, 2, 0xfffe));
    STATIC_REQUIRE_FALSE(need_event(2, 2, 0xfffe));
    STATIC_REQUIRE_FALSE(need_event(0xfffd, 2, 0xfffe));
    // Nothing published: never notify.
    STATIC_REQUIRE_FALSE(need_event(7, 7, 7));
}

TEST_CASE("virtio-v1.2 §2.7.10: with EVENT_IDX the device notifies only when used_event is crossed")
{
    Fixture f(kEventIdxFeatures);
    f.driver.set_used_event(1); // notify when used idx passes 1
    for (int i = 0; i < 3; ++i)
        f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
    auto c0 = f.pop_chain();
    f.queue.add_used(c0.head, 0);
    CHECK_FALSE(f.queue.needs_notification()); // used idx 1: used_event 1 not yet passed
    auto c1 = f.pop_chain();
    f.queue.add_used(c1.head, 0);
    CHECK(f.queue.needs_notification()); // used idx 2 passed entry 1
    auto c2 = f.pop_chain();
    f.queue.add_used(c2.head, 0);
    CHECK_FALSE(f.queue.needs_notification()); // used_event still 1, already signalled
    CHECK_FALSE(f.queue.needs_notification()); // nothing new
}

TEST_CASE("virtio-v1.2 §2.7.10: with EVENT_IDX an empty pop publishes avail_event")
{
    Fixture f(kEventIdxFeatures);
    f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
    (void)f.pop_chain();
    auto popped = f.queue.pop();
    REQUIRE(popped.has_value());
    CHECK_FALSE(popped->has_value());
    CHECK(f.driver.avail_event() == 1);
}

TEST_CASE("virtio-v1.2 §2.7.7.2: without EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT suppresses notifications")
{
    Fixture f;
    f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
    f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
    CHECK_FALSE(f.queue.needs_notification()); // nothing used yet
    auto c0 = f.pop_chain();
    f.queue.add_used(c0.head, 0);
    f.driver.set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK_FALSE(f.queue.needs_notification());
    auto c1 = f.pop_chain();
    f.queue.add_used(c1.head, 0);
    f.driver.set_avail_flags(0);
    CHECK(f.queue.needs_notification());
}

TEST_CASE("virtio-v1.2 §2.7.13: ring indices wrap around u16 without losing chains")
{
    Fixture f(0, 4);
    for (int i = 0; i < 70000; ++i) {
        const auto head = f.driver.add_chain({{0x10000, 4, Access::DeviceWrites}});
        auto chain = f.pop_chain();
        REQUIRE(chain.head == head);
        f.queue.add_used(chain.head, 4);
    }
    CHECK(f.driver.used_idx() == static_cast<std::uint16_t>(70000));
}
