// FakeVirtioDriver: the driver side of one split virtqueue (virtio-v1.2 §2.7.13 "Supplying
// Buffers to The Device"), writing descriptors and rings into GuestMemory so device code can be
// tested without a guest. Deliberately permissive: tests use it to break the rules too.
#pragma once

#include "devices/virtio/queue/virtq_abi.hpp"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "devices/virtio/queue/queue_config.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::testing {

class FakeVirtioDriver {
public:
    enum class Access { DeviceReads, DeviceWrites };
    struct Buffer {
        std::uint64_t address;
        std::uint32_t length;
        Access access;
    };

    // Default layout: descriptor table at 0x1000, avail ring at 0x3000, used ring at 0x4000,
    // data allocated from 0x10000 (needs at least 1 MiB of RAM at 0).
    explicit FakeVirtioDriver(const GuestMemory& memory, std::uint16_t size = 16, std::uint64_t desc = 0x1000,
        std::uint64_t avail = 0x3000, std::uint64_t used = 0x4000, std::uint64_t data = 0x10000)
        : m_memory(memory), m_size(size), m_desc(desc), m_avail(avail), m_used(used), m_next_data(data)
    {
    }

    [[nodiscard]] virtio::QueueConfig config(std::uint16_t max_size = 256) const
    {
        virtio::QueueConfig config(max_size);
        config.set_size(m_size);
        config.set_desc_table(m_desc);
        config.set_avail_ring(m_avail);
        config.set_used_ring(m_used);
        config.set_ready(true);
        return config;
    }
    [[nodiscard]] std::uint16_t size() const { return m_size; }
    [[nodiscard]] std::uint64_t desc_table() const { return m_desc; }
    [[nodiscard]] std::uint64_t avail_ring() const { return m_avail; }
    [[nodiscard]] std::uint64_t used_ring() const { return m_used; }

    // Bump-allocates `length` bytes of guest RAM (16-byte aligned) for buffers.
    std::uint64_t allocate(std::uint64_t length)
    {
        const std::uint64_t address = m_next_data;
        m_next_data += (length + 15) & ~std::uint64_t(15);
        return address;
    }
    std::uint64_t allocate_bytes(std::initializer_list<std::uint8_t> bytes)
    {
        std::vector<std::uint8_t> copy(bytes);
        const std::uint64_t address = allocate(copy.size());
        write_bytes(address, copy);
        return address;
    }
    void write_bytes(std::uint64_t address, const std::vector<std::uint8_t>& bytes) const
    {
        if (!m_memory.write(address, bytes))
            throw std::logic_error("fake driver: write outside guest memory");
    }
    [[nodiscard]] std::vector<std::uint8_t> read_bytes(std::uint64_t address, std::size_t length) const
    {
        std::vector<std::uint8_t> bytes(length);
        if (!m_memory.read(address, bytes))
            throw std::logic_error("fake driver: read outside guest memory");
        return bytes;
    }

    void write_descriptor(std::uint64_t table, std::uint16_t index, std::uint64_t address, std::uint32_t length,
        std::uint16_t flags, std::uint16_t next) const
    {
        virtio::VirtqDesc desc{};
        desc.addr = address;
        desc.len = length;
        desc.flags = flags;
        desc.next = next;
        if (!m_memory.write_obj(table + 16 * std::uint64_t(index), desc))
            throw std::logic_error("fake driver: descriptor outside guest memory");
    }
    void write_descriptor(std::uint16_t index, std::uint64_t address, std::uint32_t length, std::uint16_t flags,
        std::uint16_t next) const
    {
        write_descriptor(m_desc, index, address, length, flags, next);
    }

    // Writes `buffers` as a chain into free descriptors and makes it available; returns the head.
    std::uint16_t add_chain(const std::vector<Buffer>& buffers)
    {
        const std::uint16_t head = m_next_desc;
        for (std::size_t i = 0; i < buffers.size(); ++i) {
            const std::uint16_t index = m_next_desc;
            m_next_desc = static_cast<std::uint16_t>((m_next_desc + 1) % m_size);
            const bool last = i + 1 == buffers.size();
            std::uint16_t flags = last ? 0 : virtio::VIRTQ_DESC_F_NEXT;
            if (buffers[i].access == Access::DeviceWrites)
                flags |= virtio::VIRTQ_DESC_F_WRITE;
            write_descriptor(index, buffers[i].address, buffers[i].length, flags, last ? 0 : m_next_desc);
        }
        publish(head);
        return head;
    }
    // Writes `buffers` as an indirect table in guest RAM and makes available one descriptor
    // pointing at it; returns the head.
    std::uint16_t add_indirect_chain(const std::vector<Buffer>& buffers)
    {
        const std::uint64_t table = allocate(16 * buffers.size());
        for (std::size_t i = 0; i < buffers.size(); ++i) {
            const bool last = i + 1 == buffers.size();
            std::uint16_t flags = last ? 0 : virtio::VIRTQ_DESC_F_NEXT;
            if (buffers[i].access == Access::DeviceWrites)
                flags |= virtio::VIRTQ_DESC_F_WRITE;
            write_descriptor(table, static_cast<std::uint16_t>(i), buffers[i].address, buffers[i].length, flags,
                static_cast<std::uint16_t>(last ? 0 : i + 1));
        }
        const std::uint16_t head = m_next_desc;
        m_next_desc = static_cast<std::uint16_t>((m_next_desc + 1) % m_size);
        write_descriptor(head, table, static_cast<std::uint32_t>(16 * buffers.size()), virtio::VIRTQ_DESC_F_INDIRECT, 0);
        publish(head);
        return head;
    }

    // Puts `head` in the next avail ring slot and bumps avail->idx.
    void publish(std::uint16_t head)
    {
        write16(m_avail + 4 + 2 * std::uint64_t(m_avail_idx % m_size), head);
        ++m_avail_idx;
        write16(m_avail + 2, m_avail_idx);
    }
    void set_avail_idx(std::uint16_t idx)
    {
        m_avail_idx = idx;
        write16(m_avail + 2, idx);
    }
    [[nodiscard]] std::uint16_t avail_idx() const { return m_avail_idx; }
    void set_avail_flags(std::uint16_t flags) { write16(m_avail, flags); }
    void set_used_event(std::uint16_t idx) { write16(m_avail + 4 + 2 * std::uint64_t(m_size), idx); }

    [[nodiscard]] std::uint16_t used_idx() const { return read16(m_used + 2); }
    [[nodiscard]] std::uint16_t avail_event() const { return read16(m_used + 4 + 8 * std::uint64_t(m_size)); }
    [[nodiscard]] virtio::VirtqUsedElem used_element(std::uint16_t slot) const
    {
        auto element = m_memory.read_obj<virtio::VirtqUsedElem>(m_used + 4 + 8 * std::uint64_t(slot % m_size));
        if (!element)
            throw std::logic_error("fake driver: used ring outside guest memory");
        return *element;
    }

private:
    void write16(std::uint64_t address, std::uint16_t value) const
    {
        if (!m_memory.write_obj(address, value))
            throw std::logic_error("fake driver: ring outside guest memory");
    }
    [[nodiscard]] std::uint16_t read16(std::uint64_t address) const
    {
        auto value = m_memory.read_obj<std::uint16_t>(address);
        if (!value)
            throw std::logic_error("fake driver: ring outside guest memory");
        return *value;
    }

    const GuestMemory& m_memory;
    std::uint16_t m_size;
    std::uint64_t m_desc;
    std::uint64_t m_avail;
    std::uint64_t m_used;
    std::uint64_t m_next_data;
    std::uint16_t m_next_desc = 0;
    std::uint16_t m_avail_idx = 0;
};

} // namespace minivmm::testing
