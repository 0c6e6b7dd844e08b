// Tests for SavedBlocks, the buffers between copy-before-write and the backup's copier: distinct
// buffers, first saved first written, a full pool makes the write path wait until the copier
// frees a buffer, and a closed pool never lets the write path wait.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "vmm/backup/saved_blocks.hpp"

using minivmm::backup::SavedBlocks;

TEST_CASE("saved blocks: distinct buffers; published ones come out oldest first with their block and length")
{
    SavedBlocks saved(3, 4096);
    CHECK(saved.slot_bytes() == 4096);
    CHECK_FALSE(saved.has_published());
    CHECK_FALSE(saved.take().has_value());

    std::set<std::uint8_t*> buffers;
    std::vector<SavedBlocks::Slot> slots;
    for (int i = 0; i < 3; ++i) {
        auto slot = saved.acquire();
        REQUIRE(slot.has_value());
        buffers.insert(slot->data);
        std::memset(slot->data, 0x10 + i, 4096); // the whole buffer is ours to fill
        slots.push_back(*slot);
    }
    CHECK(buffers.size() == 3);
    saved.publish(slots[1], 7, 4096);
    saved.publish(slots[0], 3, 512);
    CHECK(saved.has_published());
    auto first = saved.take();
    REQUIRE(first.has_value());
    CHECK((first->block == 7 && first->length == 4096 && first->data[4095] == 0x11));
    auto second = saved.take();
    REQUIRE(second.has_value());
    CHECK((second->block == 3 && second->length == 512 && second->data[0] == 0x10));
    CHECK_FALSE(saved.take().has_value());
    // Given back unfilled (a failed read): free again, never handed to the copier.
    saved.release(slots[2]);
    saved.release(*first);
    saved.release(*second);
    for (int i = 0; i < 3; ++i)
        CHECK(saved.acquire().has_value());
    CHECK_FALSE(saved.has_published());
}

TEST_CASE("saved blocks: with every buffer waiting for the copier, the write path waits until one is released")
{
    SavedBlocks saved(2, 512);
    auto a = saved.acquire();
    auto b = saved.acquire();
    REQUIRE((a && b));
    saved.publish(*a, 0, 512);
    saved.publish(*b, 1, 512);

    std::atomic<bool> got{false};
    std::thread writer([&] {
        auto slot = saved.acquire();
        got = slot.has_value();
    });
    // The writer cannot have a buffer before one is released: none is free.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(got.load());
    auto oldest = saved.take();
    REQUIRE(oldest.has_value());
    CHECK(oldest->block == 0);
    saved.release(*oldest);
    writer.join();
    CHECK(got.load());
}

TEST_CASE("saved blocks: close wakes a waiting write path with nothing, later acquires fail at once, published "
          "buffers can still be taken")
{
    SavedBlocks saved(1, 512);
    auto only = saved.acquire();
    REQUIRE(only.has_value());
    saved.publish(*only, 9, 100);

    std::atomic<int> result{-1}; // -1 still waiting, 0 nullopt, 1 a buffer
    std::thread writer([&] { result = saved.acquire().has_value() ? 1 : 0; });
    saved.close();
    writer.join();
    CHECK(result.load() == 0);
    CHECK_FALSE(saved.acquire().has_value());
    auto taken = saved.take();
    REQUIRE(taken.has_value());
    CHECK(taken->block == 9);
    saved.release(*taken);
    CHECK_FALSE(saved.acquire().has_value()); // released after close: still closed
}
