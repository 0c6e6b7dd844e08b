// Shared pieces of the virtio fuzz targets: an in-memory disk image (memfd) reachable by path.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

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
