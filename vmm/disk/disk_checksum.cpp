// disk_checksum: per-block hashing over data extents, zero blocks skipped.
#include "vmm/disk/disk_checksum.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "vmm/base/sys_error.hpp"
#include "vmm/disk/data_extents.hpp"

namespace minivmm::disk {

namespace {

constexpr std::uint64_t kBlockSize = 64 * 1024;

// The splitmix64 finaliser: spreads every input bit over the whole word.
std::uint64_t mix(std::uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t hash_block(const std::uint8_t* data, std::size_t length)
{
    std::uint64_t h = 0x6a09e667f3bcc908ULL ^ length;
    std::size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        h = mix(h ^ word) + i;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, data + i, length - i);
    return mix(h ^ tail ^ (length - i));
}

bool all_zero(const std::uint8_t* data, std::size_t length)
{
    return std::all_of(data, data + length, [](std::uint8_t b) { return b == 0; });
}

void read_at(int fd, std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < length) {
        const ssize_t n = ::pread(fd, buffer + done, length - done,
                                  static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SysError("pread (checksum)");
        }
        if (n == 0) { // the file ended early: the rest reads as zeros, as a hole would
            std::memset(buffer + done, 0, length - done);
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace

std::uint64_t disk_checksum(int fd, std::uint64_t size)
{
    std::vector<std::uint8_t> buffer(kBlockSize);
    std::uint64_t sum = mix(size);
    std::uint64_t next_block = 0; // blocks below this were hashed already
    for (const auto& extent : data_extents(fd, size)) {
        for (std::uint64_t block = std::max(extent.offset / kBlockSize, next_block);
             block * kBlockSize < extent.end(); ++block) {
            const std::uint64_t offset = block * kBlockSize;
            const auto length = static_cast<std::size_t>(std::min(kBlockSize, size - offset));
            read_at(fd, buffer.data(), length, offset);
            if (!all_zero(buffer.data(), length))
                sum += mix(hash_block(buffer.data(), length) ^ mix(block + 1));
            next_block = block + 1;
        }
    }
    return mix(sum);
}

} // namespace minivmm::disk
