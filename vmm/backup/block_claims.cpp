// BlockClaims: atomic per-block claim states for copy-before-write (see the header).
#include "vmm/backup/block_claims.hpp"

#include <cassert>

namespace minivmm::backup {

BlockClaims::BlockClaims(std::uint64_t disk_size, std::uint64_t block_size)
    : m_disk_size(disk_size)
    , m_block_size(block_size)
    , m_count(disk_size / block_size + (disk_size % block_size != 0 ? 1 : 0))
    , m_blocks(new std::atomic<std::uint8_t>[m_count])
{
    assert(block_size > 0);
    for (std::uint64_t i = 0; i < m_count; ++i)
        m_blocks[i].store(static_cast<std::uint8_t>(State::Untouched), std::memory_order_relaxed);
}

std::uint64_t BlockClaims::block_length(std::uint64_t block) const
{
    const std::uint64_t offset = block_offset(block);
    return offset + m_block_size <= m_disk_size ? m_block_size : m_disk_size - offset;
}

bool BlockClaims::span_of(std::uint64_t offset, std::uint64_t length, BlockSpan& span) const
{
    if (length == 0 || offset >= m_disk_size)
        return false;
    const std::uint64_t end = length > m_disk_size - offset ? m_disk_size : offset + length;
    span.first = offset / m_block_size;
    span.last = (end - 1) / m_block_size;
    return true;
}

void BlockClaims::mark_data(std::uint64_t block)
{
    m_blocks[block].fetch_or(kDataFlag, std::memory_order_relaxed);
}

bool BlockClaims::has_data(std::uint64_t block) const
{
    return m_blocks[block].load(std::memory_order_relaxed) & kDataFlag;
}

bool BlockClaims::try_claim(std::uint64_t block)
{
    std::uint8_t current = m_blocks[block].load(std::memory_order_relaxed);
    for (;;) {
        if ((current & kStateMask) != static_cast<std::uint8_t>(State::Untouched))
            return false;
        const auto claimed = static_cast<std::uint8_t>(current | static_cast<std::uint8_t>(State::Claimed));
        // acq_rel: the winner's copy happens after every earlier finish() it might depend on,
        // and a loser's later wait_done() sees the winner's state change.
        if (m_blocks[block].compare_exchange_weak(current, claimed, std::memory_order_acq_rel))
            return true;
    }
}

void BlockClaims::finish(std::uint64_t block)
{
    // Release pairs with wait_done()'s acquire: a waiter that sees Done also sees the copy's
    // effects (the backup file holds the old block) before it lets the guest's write through.
    const std::uint8_t before = m_blocks[block].fetch_add(1, std::memory_order_release);
    assert((before & kStateMask) == static_cast<std::uint8_t>(State::Claimed));
    (void)before;
    m_blocks[block].notify_all();
}

void BlockClaims::wait_done(std::uint64_t block) const
{
    for (;;) {
        const std::uint8_t current = m_blocks[block].load(std::memory_order_acquire);
        if ((current & kStateMask) == static_cast<std::uint8_t>(State::Done))
            return;
        m_blocks[block].wait(current, std::memory_order_acquire);
    }
}

BlockClaims::State BlockClaims::state(std::uint64_t block) const
{
    return static_cast<State>(m_blocks[block].load(std::memory_order_acquire) & kStateMask);
}

std::uint64_t BlockClaims::done_count() const
{
    std::uint64_t done = 0;
    for (std::uint64_t i = 0; i < m_count; ++i)
        done += state(i) == State::Done ? 1 : 0;
    return done;
}

} // namespace minivmm::backup
