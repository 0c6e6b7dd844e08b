// FileBytes: a read-only view of a whole input file (kernel, initrd) with bounds-checked
// little-endian reads, so every offset and length taken from the file is checked once, here.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace minivmm::boot {

// Reads the whole file; throws UserError naming `what` ("kernel", "initrd") and the path when it
// cannot be opened or read.
std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path, std::string_view what);

class FileBytes {
public:
    // `name` prefixes every error message about this file, e.g. "kernel /boot/vmlinux".
    FileBytes(std::span<const std::uint8_t> bytes, std::string name) : m_bytes(bytes), m_name(std::move(name)) {}

    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return m_bytes; }
    [[nodiscard]] std::uint64_t size() const { return m_bytes.size(); }
    [[nodiscard]] const std::string& name() const { return m_name; }

    // True when [offset, offset + length) lies inside the file; overflow-safe.
    [[nodiscard]] bool contains(std::uint64_t offset, std::uint64_t length) const
    {
        return offset <= m_bytes.size() && length <= m_bytes.size() - offset;
    }

    // The bytes [offset, offset + length); std::nullopt when any of them is past the end.
    [[nodiscard]] std::optional<std::span<const std::uint8_t>> sub(std::uint64_t offset, std::uint64_t length) const
    {
        if (!contains(offset, length))
            return std::nullopt;
        return m_bytes.subspan(offset, length);
    }

    // A trivially copyable object stored at `offset` (x86 is little-endian like every format we
    // read, so a memcpy is the little-endian decode); std::nullopt past the end.
    template<typename T>
    [[nodiscard]] std::optional<T> read(std::uint64_t offset) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        if (!contains(offset, sizeof(T)))
            return std::nullopt;
        T value;
        std::memcpy(&value, m_bytes.data() + offset, sizeof(T));
        return value;
    }

private:
    std::span<const std::uint8_t> m_bytes;
    std::string m_name;
};

} // namespace minivmm::boot
