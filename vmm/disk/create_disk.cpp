// create_disk: O_EXCL create + ftruncate, so the new image is all hole.
#include "vmm/disk/create_disk.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::disk {

std::uint64_t round_up_to_sector(std::uint64_t size)
{
    if (size > UINT64_MAX - (kSectorSize - 1))
        return 0; // callers reject 0
    return (size + kSectorSize - 1) / kSectorSize * kSectorSize;
}

std::uint64_t create_disk(const std::string& path, std::uint64_t size)
{
    const std::uint64_t rounded = round_up_to_sector(size);
    if (size == 0 || rounded == 0 || rounded > static_cast<std::uint64_t>(INT64_MAX))
        throw UserError(fmt::format("cannot create disk {} of {} bytes: give a size from 1 byte "
                                    "to 8 EiB, e.g. 10G",
                                    path, size));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) {
        if (errno == EEXIST)
            throw UserError(fmt::format("{} already exists; disk create never overwrites, pick "
                                        "another path or remove it first",
                                        path));
        throw SysError(fmt::format("create {}", path));
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(rounded)) != 0 || ::fsync(fd.get()) != 0) {
        const int error = errno;
        ::unlink(path.c_str());
        if (error == EFBIG)
            throw UserError(fmt::format("disk size {} is too large for the file system of {}",
                                        rounded, path));
        throw SysError(fmt::format("size {}", path), error);
    }
    return rounded;
}

} // namespace minivmm::disk
