// DirtyPageBitmap and DirtyPages (dirty_pages.hpp): plain bit arithmetic, KVM_GET_DIRTY_LOG's
// word layout.
#include "vmm/memory/dirty_pages.hpp"

#include <bit>
#include <cassert>

namespace minivmm {

DirtyPageBitmap::DirtyPageBitmap(std::uint64_t pages)
    : m_pages(pages)
    , m_words((pages + 63) / 64, 0)
{
}

void DirtyPageBitmap::set(std::uint64_t page)
{
    assert(page < m_pages);
    m_words[page / 64] |= std::uint64_t{1} << (page % 64);
}

bool DirtyPageBitmap::test(std::uint64_t page) const
{
    return page < m_pages && (m_words[page / 64] >> (page % 64) & 1) != 0;
}

void DirtyPageBitmap::set_all()
{
    for (auto& word : m_words)
        word = ~std::uint64_t{0};
    // Bits past pages() stay zero: count() and the KVM layout rely on it.
    if (m_pages % 64 != 0)
        m_words.back() = (std::uint64_t{1} << (m_pages % 64)) - 1;
}

void DirtyPageBitmap::clear()
{
    for (auto& word : m_words)
        word = 0;
}

std::uint64_t DirtyPageBitmap::count() const
{
    std::uint64_t total = 0;
    for (auto word : m_words)
        total += static_cast<std::uint64_t>(std::popcount(word));
    return total;
}

void DirtyPageBitmap::merge(const DirtyPageBitmap& other)
{
    assert(other.m_pages == m_pages);
    for (std::size_t i = 0; i < m_words.size(); ++i)
        m_words[i] |= other.m_words[i];
}

std::uint64_t DirtyPages::count() const
{
    std::uint64_t total = 0;
    for (const auto& region : regions)
        total += region.count();
    return total;
}

} // namespace minivmm
