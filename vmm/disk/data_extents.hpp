// data_extents: where a sparse raw disk image actually stores data, found with lseek(2)'s
// SEEK_DATA / SEEK_HOLE, so the disk tools copy and check only allocated ranges.
#pragma once

#include <cstdint>
#include <vector>

namespace minivmm::disk {

struct Extent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    [[nodiscard]] std::uint64_t end() const { return offset + length; }
    bool operator==(const Extent&) const = default;
};

// The data extents of the open file `fd` within [0, size), in order. Holes are left out; the
// file system decides the granularity (a block), so an extent may hold zeros. A file system
// without SEEK_DATA support reports the whole file as one extent. Throws SysError.
std::vector<Extent> data_extents(int fd, std::uint64_t size);

// The end of the last data extent (0 for an all-hole file): the smallest size the file can be
// truncated to without losing data.
std::uint64_t data_end(int fd, std::uint64_t size);

} // namespace minivmm::disk
