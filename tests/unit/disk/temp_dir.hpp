// TempDir: a scratch directory for the disk-tool tests, removed with its files at the end,
// plus small helpers to write and inspect sparse files.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace minivmm::testing {

class TempDir {
public:
    TempDir()
    {
        char name[] = "/tmp/minivmm-disktest-XXXXXX";
        if (::mkdtemp(name) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        m_path = name;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] std::string file(const std::string& name) const { return m_path + "/" + name; }
    [[nodiscard]] std::vector<std::string> names() const
    {
        std::vector<std::string> result;
        for (const auto& entry : std::filesystem::directory_iterator(m_path))
            result.push_back(entry.path().filename().string());
        std::sort(result.begin(), result.end());
        return result;
    }

private:
    std::string m_path;
};

// Writes `bytes` at `offset` of `path` (creating it), without changing a larger size.
inline void write_at(const std::string& path, std::uint64_t offset,
                     const std::vector<std::uint8_t>& bytes)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset))
                      != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("write_at failed");
    ::close(fd);
}

inline void truncate_to(const std::string& path, std::uint64_t size)
{
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0)
        throw std::runtime_error("truncate failed");
}

inline struct stat stat_of(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw std::runtime_error("stat failed");
    return st;
}

inline std::vector<std::uint8_t> read_all(const std::string& path)
{
    const auto size = static_cast<std::size_t>(stat_of(path).st_size);
    std::vector<std::uint8_t> bytes(size);
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 || ::pread(fd, bytes.data(), size, 0) != static_cast<ssize_t>(size))
        throw std::runtime_error("read_all failed");
    ::close(fd);
    return bytes;
}

inline std::vector<std::uint8_t> pattern(std::size_t length, std::uint8_t seed)
{
    std::vector<std::uint8_t> bytes(length);
    for (std::size_t i = 0; i < length; ++i)
        bytes[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
    return bytes;
}

} // namespace minivmm::testing
