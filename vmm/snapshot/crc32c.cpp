// CRC32C (crc32c.hpp): the reflected byte-at-a-time table algorithm.
#include "vmm/snapshot/crc32c.hpp"

#include <array>

namespace minivmm::snapshot {
namespace {

constexpr std::uint32_t kReflectedPolynomial = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table()
{
    std::array<std::uint32_t, 256> table {};
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
        std::uint32_t crc = byte;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) ? (crc >> 1) ^ kReflectedPolynomial : crc >> 1;
        table[byte] = crc;
    }
    return table;
}

constexpr auto kTable = make_table();

} // namespace

std::uint32_t crc32c(std::uint32_t crc, std::span<const std::uint8_t> data)
{
    crc = ~crc;
    for (const std::uint8_t byte : data)
        crc = kTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
    return ~crc;
}

} // namespace minivmm::snapshot
