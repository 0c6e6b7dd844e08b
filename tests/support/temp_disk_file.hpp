// TempDiskFile: a temporary raw disk image for virtio-blk tests, deleted when the test ends.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace minivmm::testing {

class TempDiskFile {
public:
    // A file of `size` bytes where byte i holds (i / 512) & 0xff (the sector number's low byte).
    explicit TempDiskFile(std::uint64_t size)
    {
        char name[] = "/tmp/minivmm-disk-XXXXXX";
        const int fd = ::mkstemp(name);
        if (fd < 0)
            throw std::runtime_error("mkstemp failed");
        m_path = name;
        std::vector<std::uint8_t> bytes(size);
        for (std::uint64_t i = 0; i < size; ++i)
            bytes[i] = static_cast<std::uint8_t>(i / 512);
        if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
            throw std::runtime_error("writing the temp disk failed");
        ::close(fd);
    }
    ~TempDiskFile() { ::unlink(m_path.c_str()); }
    TempDiskFile(const TempDiskFile&) = delete;
    TempDiskFile& operator=(const TempDiskFile&) = delete;

    [[nodiscard]] const std::string& path() const { return m_path; }
    [[nodiscard]] std::vector<std::uint8_t> read(std::uint64_t offset, std::size_t length) const
    {
        std::vector<std::uint8_t> bytes(length);
        FILE* file = ::fopen(m_path.c_str(), "rb");
        ::fseek(file, static_cast<long>(offset), SEEK_SET);
        const auto got = ::fread(bytes.data(), 1, length, file);
        ::fclose(file);
        bytes.resize(got);
        return bytes;
    }

private:
    std::string m_path;
};

} // namespace minivmm::testing
