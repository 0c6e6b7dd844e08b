// Shared pieces of the fuzz targets: an in-memory disk image (memfd) reachable by path, a reader
// that decodes a fuzzer input into typed values, and the abort for a broken invariant.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

namespace minivmm::fuzz {

// A 64 KiB memfd disk, created once per process; its /proc path works with DiskImage::open.
inline const std::string& memfd_disk_path()
{
    static const std::string path = [] {
        const int fd = ::memfd_create("minivmm-fuzz-disk", MFD_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, 64 * 1024) != 0)
            std::abort();
        return "/proc/self/fd/" + std::to_string(fd);
    }();
    return path;
}

} // namespace minivmm::fuzz

namespace minivmm::fuzz {

// Takes little-endian integers and byte runs from the front of a fuzzer input; past the end it
// yields zeros, so every input decodes to some program of operations.
class InputReader {
public:
    InputReader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}

    [[nodiscard]] bool empty() const { return m_at >= m_size; }
    [[nodiscard]] std::size_t remaining() const { return m_size - m_at; }

    template<typename T>
    T take()
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T value{};
        const std::size_t count = std::min(sizeof(T), remaining());
        std::copy_n(m_data + m_at, count, reinterpret_cast<std::uint8_t*>(&value)); // m_data may be null
        m_at += count;
        return value;
    }
    std::uint8_t byte() { return take<std::uint8_t>(); }
    std::uint16_t u16() { return take<std::uint16_t>(); }
    std::uint32_t u32() { return take<std::uint32_t>(); }
    std::uint64_t u64() { return take<std::uint64_t>(); }

    // Up to `count` bytes (fewer at the end of the input).
    std::span<const std::uint8_t> bytes(std::size_t count)
    {
        count = std::min(count, remaining());
        const std::span<const std::uint8_t> result(m_data + m_at, count);
        m_at += count;
        return result;
    }

private:
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_at = 0;
};

// A broken invariant: print what and abort, which libFuzzer reports as a crash.
[[noreturn]] inline void invariant_failed(const char* what)
{
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

} // namespace minivmm::fuzz
