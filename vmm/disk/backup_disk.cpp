// backup_disk: locked, sparse, verified copy through a temporary file and a no-replace rename.
#include "vmm/disk/backup_disk.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "vmm/base/exact_io.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/disk/data_extents.hpp"
#include "vmm/disk/disk_checksum.hpp"
#include "vmm/disk/disk_lock.hpp"

namespace minivmm::disk {

namespace {

constexpr std::size_t kChunkSize = 1024 * 1024;

// Removes the temporary file unless the backup completed.
class TempFileGuard {
public:
    explicit TempFileGuard(std::string path) : m_path(std::move(path)) {}
    ~TempFileGuard()
    {
        if (!m_path.empty())
            ::unlink(m_path.c_str());
    }
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;
    void release() { m_path.clear(); }

private:
    std::string m_path;
};

std::string directory_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

void read_exact(int fd, std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    if (const int result = pread_exact(fd, buffer, length, offset); result != 0)
        throw SysError(result == -EIO ? "read source disk (or it shrank during the backup)" : "read source disk", -result);
}

void write_exact(int fd, const std::uint8_t* buffer, std::size_t length, std::uint64_t offset)
{
    if (const int result = pwrite_exact(fd, buffer, length, offset); result != 0)
        throw SysError("write backup", -result);
}

// Moves `from` to `to` unless `to` exists (renameat2 RENAME_NOREPLACE; link + unlink where the
// file system lacks it). Both refuse atomically, so a DST created meanwhile is never replaced.
void rename_no_replace(const std::string& from, const std::string& to)
{
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return;
    int error = errno;
    if (error == EINVAL || error == ENOSYS) {
        if (::link(from.c_str(), to.c_str()) == 0) {
            ::unlink(from.c_str());
            return;
        }
        error = errno;
    }
    if (error == EEXIST)
        throw UserError(fmt::format("{} appeared during the backup; the backup was discarded, "
                                    "nothing was overwritten",
                                    to));
    throw SysError(fmt::format("rename backup to {}", to), error);
}

} // namespace

std::uint64_t copy_data_extents(int source_fd, int destination_fd, std::uint64_t size,
                                const BackupProgress& progress)
{
    const auto extents = data_extents(source_fd, size);
    std::uint64_t total = 0;
    for (const auto& extent : extents)
        total += extent.length;
    std::vector<std::uint8_t> buffer(kChunkSize);
    std::uint64_t done = 0;
    if (progress)
        progress(0, total);
    for (const auto& extent : extents) {
        for (std::uint64_t offset = extent.offset; offset < extent.end();) {
            const auto length = static_cast<std::size_t>(
                std::min<std::uint64_t>(kChunkSize, extent.end() - offset));
            read_exact(source_fd, buffer.data(), length, offset);
            // The destination is all hole: a zero chunk needs no write and stays a hole.
            const bool zero = std::all_of(buffer.begin(), buffer.begin() + length,
                                          [](std::uint8_t b) { return b == 0; });
            if (!zero)
                write_exact(destination_fd, buffer.data(), length, offset);
            offset += length;
            done += length;
            if (progress)
                progress(done, total);
        }
    }
    return done;
}

std::uint64_t verify_copy(int source_fd, int destination_fd, std::uint64_t size,
                          const std::string& source_path)
{
    const std::uint64_t source_sum = disk_checksum(source_fd, size);
    const std::uint64_t copy_sum = disk_checksum(destination_fd, size);
    if (source_sum != copy_sum)
        throw SysError(fmt::format("verify backup of {}: the copy differs from the source "
                                   "(checksums {:016x} and {:016x})",
                                   source_path, source_sum, copy_sum),
                       EIO);
    return source_sum;
}

BackupResult backup_disk(const std::string& source, const std::string& destination,
                         const BackupProgress& progress)
{
    UniqueFd source_fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source_fd) {
        if (errno == ENOENT)
            throw UserError(fmt::format("disk {} does not exist", source));
        throw SysError(fmt::format("open {}", source));
    }
    lock_disk_exclusive(source_fd.get(), source);
    struct stat st {};
    if (::fstat(source_fd.get(), &st) != 0)
        throw SysError(fmt::format("stat {}", source));
    if (!S_ISREG(st.st_mode))
        throw UserError(fmt::format("{} is not a regular file; disk backup copies raw image "
                                    "files only",
                                    source));
    struct stat existing {};
    if (::lstat(destination.c_str(), &existing) == 0)
        throw UserError(fmt::format("{} already exists; disk backup never overwrites, pick "
                                    "another destination or remove it first",
                                    destination));
    if (errno != ENOENT)
        throw SysError(fmt::format("stat {}", destination));

    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::string temp_path = destination + ".partial-XXXXXX";
    UniqueFd temp_fd(::mkostemp(temp_path.data(), O_CLOEXEC));
    if (!temp_fd)
        throw SysError(fmt::format("create temporary file next to {}", destination));
    TempFileGuard guard(temp_path);
    if (::fchmod(temp_fd.get(), st.st_mode & 0777) != 0)
        throw SysError(fmt::format("chmod {}", temp_path));
    if (::ftruncate(temp_fd.get(), static_cast<off_t>(size)) != 0)
        throw SysError(fmt::format("size {}", temp_path));

    BackupResult result;
    result.size = size;
    result.data_bytes = copy_data_extents(source_fd.get(), temp_fd.get(), size, progress);
    if (::fsync(temp_fd.get()) != 0)
        throw SysError(fmt::format("fsync {}", temp_path));
    result.checksum = verify_copy(source_fd.get(), temp_fd.get(), size, source);

    rename_no_replace(temp_path, destination);
    guard.release();
    UniqueFd directory(::open(directory_of(destination).c_str(),
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directory || ::fsync(directory.get()) != 0)
        throw SysError(fmt::format("fsync the directory of {}", destination));
    return result;
}

} // namespace minivmm::disk
