// ByteWriter: builds the little-endian firmware tables the guest reads (Intel MP spec 1.4 §4
// "MP Configuration Table"; ACPI 6.5 §5.2 "ACPI System Description Tables"), with the one checksum
// rule both specs share: the covered bytes, checksum field included, sum to zero modulo 256.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace minivmm::boot {

class ByteWriter {
public:
    [[nodiscard]] std::size_t size() const { return m_bytes.size(); }
    [[nodiscard]] std::vector<std::uint8_t>& bytes() { return m_bytes; }

    void u8(std::uint8_t v) { m_bytes.push_back(v); }
    void u16(std::uint16_t v) { u8(static_cast<std::uint8_t>(v)); u8(static_cast<std::uint8_t>(v >> 8)); }
    void u32(std::uint32_t v) { u16(static_cast<std::uint16_t>(v)); u16(static_cast<std::uint16_t>(v >> 16)); }
    void u64(std::uint64_t v) { u32(static_cast<std::uint32_t>(v)); u32(static_cast<std::uint32_t>(v >> 32)); }
    void zeros(std::size_t count) { m_bytes.insert(m_bytes.end(), count, 0); }
    // A fixed-width text field: `s` padded with `pad` to `width` bytes (never truncated silently).
    void text(std::string_view s, std::size_t width, char pad = ' ')
    {
        if (s.size() > width)
            throw std::logic_error("ByteWriter: text field wider than its slot");
        for (std::size_t i = 0; i < width; ++i)
            u8(static_cast<std::uint8_t>(i < s.size() ? s[i] : pad));
    }
    // Pads with zeros until size() is a multiple of `alignment`.
    void align(std::size_t alignment)
    {
        while (m_bytes.size() % alignment != 0)
            u8(0);
    }

    // Overwrite fields written earlier (lengths and counts known only at the end).
    void patch_u8(std::size_t at, std::uint8_t v) { m_bytes.at(at) = v; }
    void patch_u16(std::size_t at, std::uint16_t v)
    {
        patch_u8(at, static_cast<std::uint8_t>(v));
        patch_u8(at + 1, static_cast<std::uint8_t>(v >> 8));
    }
    void patch_u32(std::size_t at, std::uint32_t v)
    {
        patch_u16(at, static_cast<std::uint16_t>(v));
        patch_u16(at + 2, static_cast<std::uint16_t>(v >> 16));
    }
    void patch_u64(std::size_t at, std::uint64_t v)
    {
        patch_u32(at, static_cast<std::uint32_t>(v));
        patch_u32(at + 4, static_cast<std::uint32_t>(v >> 32));
    }

    // Sets the byte at `checksum_at` (inside [start, start + length)) so that the bytes of that
    // range sum to zero modulo 256.
    void fill_checksum(std::size_t start, std::size_t length, std::size_t checksum_at)
    {
        if (start > m_bytes.size() || length > m_bytes.size() - start || checksum_at < start
            || checksum_at - start >= length)
            throw std::logic_error("ByteWriter: checksum range outside the bytes written");
        m_bytes[checksum_at] = 0;
        std::uint8_t sum = 0;
        for (std::size_t i = start; i < start + length; ++i)
            sum = static_cast<std::uint8_t>(sum + m_bytes[i]);
        m_bytes[checksum_at] = static_cast<std::uint8_t>(-sum);
    }

private:
    std::vector<std::uint8_t> m_bytes;
};

} // namespace minivmm::boot
