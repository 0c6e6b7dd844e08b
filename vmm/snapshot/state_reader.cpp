// StateReader (state_reader.hpp): bounds-checked little-endian reads of a snapshot section.
#include "vmm/snapshot/state_reader.hpp"

#include <cstring>

#include <fmt/format.h>

namespace minivmm::snapshot {

StateReader::StateReader(std::span<const std::uint8_t> data, std::string what)
    : m_data(data)
    , m_what(std::move(what))
{
}

void StateReader::fail(std::string_view message) const
{
    throw SnapshotError(fmt::format("{}: {}", m_what, message));
}

std::span<const std::uint8_t> StateReader::take(std::size_t size, std::string_view field)
{
    if (size > remaining())
        fail(fmt::format("truncated: {} needs {} bytes at offset {}, {} left", field, size, m_offset, remaining()));
    const auto part = m_data.subspan(m_offset, size);
    m_offset += size;
    return part;
}

namespace {
std::uint64_t little_endian(std::span<const std::uint8_t> bytes)
{
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i)
        value |= std::uint64_t {bytes[i]} << (8 * i);
    return value;
}
} // namespace

std::uint8_t StateReader::u8() { return take(1, "u8")[0]; }
std::uint16_t StateReader::u16() { return static_cast<std::uint16_t>(little_endian(take(2, "u16"))); }
std::uint32_t StateReader::u32() { return static_cast<std::uint32_t>(little_endian(take(4, "u32"))); }
std::uint64_t StateReader::u64() { return little_endian(take(8, "u64")); }

bool StateReader::boolean()
{
    const std::uint8_t value = take(1, "bool")[0];
    if (value > 1)
        fail(fmt::format("a boolean at offset {} is {}, not 0 or 1", m_offset - 1, value));
    return value == 1;
}

std::vector<std::uint8_t> StateReader::bytes(std::size_t max_size)
{
    const std::uint32_t size = u32();
    if (size > max_size)
        fail(fmt::format("a byte string of {} bytes at offset {} (at most {})", size, m_offset - 4, max_size));
    const auto part = take(size, "byte string");
    return {part.begin(), part.end()};
}

std::string StateReader::string(std::size_t max_size)
{
    const auto raw = bytes(max_size);
    return {raw.begin(), raw.end()};
}

void StateReader::fixed(std::span<std::uint8_t> out)
{
    const auto part = take(out.size(), "fixed-size structure");
    std::memcpy(out.data(), part.data(), part.size());
}

std::uint32_t StateReader::index(std::uint32_t limit, std::string_view field)
{
    const std::uint32_t value = u32();
    if (value >= limit)
        fail(fmt::format("{} is {}, must be below {}", field, value, limit));
    return value;
}

void StateReader::expect_end() const
{
    if (remaining() != 0)
        fail(fmt::format("{} bytes left over after offset {}", remaining(), m_offset));
}

} // namespace minivmm::snapshot
