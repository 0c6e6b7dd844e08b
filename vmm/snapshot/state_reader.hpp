// StateReader: reads back what a StateWriter wrote (state_writer.hpp), from a snapshot file that
// is hostile input (issue "Snapshot and restore": every length, count, index and address is
// validated before use). Every read is bounds-checked; a short section, an over-long string, a
// bool that is neither 0 nor 1 or bytes left over throw SnapshotError naming the section.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace minivmm::snapshot {

// A snapshot that cannot be used: one line saying what is wrong and where (exit 120).
class SnapshotError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StateReader {
public:
    // `what` names the section in errors ("vcpu 1", "device blk0").
    StateReader(std::span<const std::uint8_t> data, std::string what);

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    std::uint64_t u64();
    bool boolean();
    // A length-prefixed byte string of at most `max_size` bytes.
    std::vector<std::uint8_t> bytes(std::size_t max_size);
    std::string string(std::size_t max_size);
    void fixed(std::span<std::uint8_t> out);
    template<typename T>
    T object()
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        fixed(std::span(reinterpret_cast<std::uint8_t*>(&value), sizeof value));
        return value;
    }
    // A value that must lie in [0, limit): a count, an index, an enum. Throws otherwise.
    std::uint32_t index(std::uint32_t limit, std::string_view field);

    // Throws unless every byte was read (a section longer than its reader expects is corrupt).
    void expect_end() const;
    [[nodiscard]] std::size_t remaining() const { return m_data.size() - m_offset; }
    // Throws SnapshotError "<what>: <message>".
    [[noreturn]] void fail(std::string_view message) const;

private:
    std::span<const std::uint8_t> take(std::size_t size, std::string_view field);
    std::span<const std::uint8_t> m_data;
    std::size_t m_offset = 0;
    std::string m_what;
};

} // namespace minivmm::snapshot
