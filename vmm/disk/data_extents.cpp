// data_extents / data_end: the SEEK_DATA / SEEK_HOLE walk.
#include "vmm/disk/data_extents.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "vmm/base/sys_error.hpp"

namespace minivmm::disk {

std::vector<Extent> data_extents(int fd, std::uint64_t size)
{
    std::vector<Extent> extents;
    std::uint64_t offset = 0;
    while (offset < size) {
        const off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) // lseek(2): no data at or after offset
                break;
            if (errno == EINVAL && offset == 0) // no SEEK_DATA here: everything may be data
                return {{0, size}};
            throw SysError("lseek SEEK_DATA");
        }
        const off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            throw SysError("lseek SEEK_HOLE");
        const auto start = static_cast<std::uint64_t>(data);
        const auto end = std::min(static_cast<std::uint64_t>(hole), size);
        if (start >= end)
            break;
        extents.push_back({start, end - start});
        offset = end;
    }
    return extents;
}

std::uint64_t data_end(int fd, std::uint64_t size)
{
    const auto extents = data_extents(fd, size);
    return extents.empty() ? 0 : extents.back().end();
}

} // namespace minivmm::disk
