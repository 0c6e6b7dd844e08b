// The one place where the device reads and writes the 16-bit ring indices it shares with the
// driver (virtio-v1.2 §2.7.6 "The Virtqueue Available Ring", §2.7.8 "The Virtqueue Used Ring",
// §2.7.10 "Used Buffer Notification Suppression", §2.7.13 "Supplying Buffers to The Device").
// Every other ring field is read or written with plain copies ordered by these accesses.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio::ring_index {

// Acquire load of a ring index. Callers pass an address whose 2-byte alignment queue
// activation has checked (avail ring 2-aligned, used ring 4-aligned), and the host mapping is
// page-aligned, so the host pointer is aligned for std::atomic_ref<std::uint16_t>.
inline std::optional<std::uint16_t> load_acquire(const GuestMemory& memory, std::uint64_t address)
{
    auto bytes = memory.slice(address, sizeof(std::uint16_t));
    if (!bytes)
        return std::nullopt;
    auto* index = reinterpret_cast<std::uint16_t*>(bytes->data());
    return std::atomic_ref<std::uint16_t>(*index).load(std::memory_order_acquire);
}

// Release store of a ring index (same alignment contract as load_acquire).
inline bool store_release(const GuestMemory& memory, std::uint64_t address, std::uint16_t value)
{
    auto bytes = memory.slice(address, sizeof(std::uint16_t));
    if (!bytes)
        return false;
    auto* index = reinterpret_cast<std::uint16_t*>(bytes->data());
    std::atomic_ref<std::uint16_t>(*index).store(value, std::memory_order_release);
    return true;
}

} // namespace minivmm::virtio::ring_index
