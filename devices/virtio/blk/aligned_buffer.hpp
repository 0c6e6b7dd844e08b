// AlignedBuffer: an owned, zero-filled heap buffer whose address and size are multiples of a
// power-of-two alignment, as O_DIRECT transfers need (open(2), "O_DIRECT" notes; statx(2),
// "stx_dio_mem_align").
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace minivmm::virtio {

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    // `alignment` is a power of two; `size` is rounded up to a multiple of it. Throws
    // std::bad_alloc when the host has no memory left.
    AlignedBuffer(std::size_t size, std::size_t alignment)
    {
        const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
        void* bytes = std::aligned_alloc(alignment, rounded);
        if (!bytes)
            throw std::bad_alloc();
        std::memset(bytes, 0, rounded);
        m_bytes.reset(static_cast<std::uint8_t*>(bytes));
        m_size = rounded;
    }

    [[nodiscard]] std::uint8_t* data() const { return m_bytes.get(); }
    [[nodiscard]] std::size_t size() const { return m_size; }
    [[nodiscard]] std::span<std::uint8_t> bytes() const { return {m_bytes.get(), m_size}; }

private:
    struct Free {
        void operator()(std::uint8_t* bytes) const { std::free(bytes); }
    };
    std::unique_ptr<std::uint8_t[], Free> m_bytes;
    std::size_t m_size = 0;
};

} // namespace minivmm::virtio
