// resize_disk: locked ftruncate with a data-loss check before shrinking.
#include "vmm/disk/resize_disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/disk/create_disk.hpp"
#include "vmm/disk/data_extents.hpp"
#include "vmm/disk/disk_lock.hpp"

namespace minivmm::disk {

ResizeResult resize_disk(const std::string& path, std::uint64_t new_size)
{
    const std::uint64_t rounded = round_up_to_sector(new_size);
    if (new_size == 0 || rounded == 0 || rounded > static_cast<std::uint64_t>(INT64_MAX))
        throw UserError(fmt::format("cannot resize disk {} to {} bytes: give a size from 1 byte "
                                    "to 8 EiB",
                                    path, new_size));
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            throw UserError(fmt::format("disk {} does not exist", path));
        throw SysError(fmt::format("open {}", path));
    }
    lock_disk_exclusive(fd.get(), path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw SysError(fmt::format("stat {}", path));
    if (!S_ISREG(st.st_mode))
        throw UserError(fmt::format("{} is not a regular file; disk resize handles raw image "
                                    "files only",
                                    path));

    ResizeResult result{static_cast<std::uint64_t>(st.st_size), rounded};
    if (rounded < result.old_size) {
        const std::uint64_t used_end = data_end(fd.get(), result.old_size);
        if (used_end > rounded)
            throw UserError(fmt::format("cannot shrink {} to {} bytes: it stores data up to byte "
                                        "{}; shrink the guest file system and discard its free "
                                        "space first, or choose a size of at least {}",
                                        path, rounded, used_end, round_up_to_sector(used_end)));
    }
    if (rounded != result.old_size) {
        if (::ftruncate(fd.get(), static_cast<off_t>(rounded)) != 0)
            throw SysError(fmt::format("resize {}", path));
        if (::fsync(fd.get()) != 0)
            throw SysError(fmt::format("fsync {}", path));
    }
    return result;
}

} // namespace minivmm::disk
