// SavedBlocks: the buffer pool between copy-before-write and the copier (see the header).
#include "vmm/backup/saved_blocks.hpp"

#include <cassert>

namespace minivmm::backup {

SavedBlocks::SavedBlocks(std::uint32_t slots, std::uint64_t slot_bytes)
    : m_slot_bytes(slot_bytes)
    , m_memory(slots * slot_bytes)
{
    assert(slots > 0 && slot_bytes > 0);
    m_free.reserve(slots);
    for (std::uint32_t i = slots; i > 0; --i)
        m_free.push_back(i - 1);
}

std::optional<SavedBlocks::Slot> SavedBlocks::acquire()
{
    std::unique_lock lock(m_mutex);
    m_freed.wait(lock, [this] { return m_closed || !m_free.empty(); });
    if (m_closed)
        return std::nullopt;
    Slot slot;
    slot.index = m_free.back();
    slot.data = m_memory.data() + slot.index * m_slot_bytes;
    m_free.pop_back();
    return slot;
}

void SavedBlocks::publish(Slot slot, std::uint64_t block, std::uint64_t length)
{
    assert(length <= m_slot_bytes);
    slot.block = block;
    slot.length = length;
    std::lock_guard lock(m_mutex);
    m_published.push_back(slot);
}

std::optional<SavedBlocks::Slot> SavedBlocks::take()
{
    std::lock_guard lock(m_mutex);
    if (m_published.empty())
        return std::nullopt;
    Slot slot = m_published.front();
    m_published.pop_front();
    return slot;
}

void SavedBlocks::release(const Slot& slot)
{
    {
        std::lock_guard lock(m_mutex);
        m_free.push_back(slot.index);
    }
    m_freed.notify_one();
}

bool SavedBlocks::has_published() const
{
    std::lock_guard lock(m_mutex);
    return !m_published.empty();
}

void SavedBlocks::close()
{
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
    }
    m_freed.notify_all();
}

} // namespace minivmm::backup
