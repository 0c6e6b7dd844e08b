// BackupFile: temporary file, durable no-replace publish and cleanup of an online backup.
#include "vmm/backup/backup_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/exact_io.hpp"

namespace minivmm::backup {
namespace {

// Splits a path into its directory (for openat-style calls) and its last component.
std::pair<std::string, std::string> split_path(const std::string& path)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

} // namespace

Expected<std::unique_ptr<BackupFile>, std::string> BackupFile::create(const std::string& destination,
    std::uint64_t size, mode_t mode)
{
    const auto [directory_path, name] = split_path(destination);
    if (name.empty() || name == "." || name == "..")
        return Unexpected(fmt::format("backup destination '{}' names a directory, not a file", destination));
    struct stat existing {};
    if (::lstat(destination.c_str(), &existing) == 0)
        return Unexpected(fmt::format("{} already exists; a backup never overwrites, pick another path or "
                                      "remove it first",
            destination));
    if (errno != ENOENT)
        return Unexpected(fmt::format("cannot use {}: {}", destination, std::strerror(errno)));
    UniqueFd directory(::open(directory_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directory)
        return Unexpected(fmt::format("cannot open the directory {} of {}: {}", directory_path, destination,
            std::strerror(errno)));
    std::string temporary = destination + ".partial-XXXXXX";
    UniqueFd file(::mkostemp(temporary.data(), O_CLOEXEC)); // O_EXCL: never an existing file
    if (!file)
        return Unexpected(fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
    std::unique_ptr<BackupFile> backup(new BackupFile(destination, temporary, std::move(directory), std::move(file)));
    if (::fchmod(backup->m_file.get(), mode & 0666) != 0)
        return Unexpected(fmt::format("cannot chmod {}: {}", temporary, std::strerror(errno)));
    if (::ftruncate(backup->m_file.get(), static_cast<off_t>(size)) != 0)
        return Unexpected(fmt::format("cannot size {} to {} bytes: {}", temporary, size, std::strerror(errno)));
    return backup;
}

BackupFile::BackupFile(std::string destination, std::string temporary_path, UniqueFd directory, UniqueFd file)
    : m_destination(std::move(destination))
    , m_temporary_path(std::move(temporary_path))
    , m_destination_name(split_path(m_destination).second)
    , m_temporary_name(split_path(m_temporary_path).second)
    , m_directory(std::move(directory))
    , m_file(std::move(file))
{
}

BackupFile::~BackupFile()
{
    remove();
}

int BackupFile::write_at(const std::uint8_t* data, std::size_t length, std::uint64_t offset) const
{
    return pwrite_exact(m_file.get(), data, length, offset);
}

Expected<void, std::string> BackupFile::publish()
{
    if (::fdatasync(m_file.get()) != 0)
        return Unexpected(fmt::format("fdatasync {}: {}", m_temporary_path, std::strerror(errno)));
    const int dir = m_directory.get();
    if (::renameat2(dir, m_temporary_name.c_str(), dir, m_destination_name.c_str(), RENAME_NOREPLACE) != 0) {
        int error = errno;
        if (error == EINVAL || error == ENOSYS) {
            // No RENAME_NOREPLACE on this file system: link(2) refuses an existing name too.
            if (::linkat(dir, m_temporary_name.c_str(), dir, m_destination_name.c_str(), 0) == 0) {
                (void)::unlinkat(dir, m_temporary_name.c_str(), 0);
                error = 0;
            } else {
                error = errno;
            }
        }
        if (error == EEXIST)
            return Unexpected(fmt::format("{} appeared during the backup; nothing was overwritten", m_destination));
        if (error != 0)
            return Unexpected(fmt::format("rename {} to {}: {}", m_temporary_path, m_destination, std::strerror(error)));
    }
    m_present = false;
    if (::fsync(dir) != 0)
        return Unexpected(fmt::format("fsync the directory of {}: {}", m_destination, std::strerror(errno)));
    close_descriptors();
    return {};
}

void BackupFile::remove()
{
    if (m_present) {
        (void)::unlinkat(m_directory.get(), m_temporary_name.c_str(), 0);
        m_present = false;
    }
    close_descriptors();
}

void BackupFile::close_descriptors()
{
    // Here, on the thread that publishes or removes, not whenever the object happens to be
    // destroyed: a user who deletes the published DEST leaves our descriptor the last reference,
    // and the last close of a large unlinked file frees all its blocks, which with online
    // discard (mount -o discard) is a synchronous discard per extent. Measured with
    // tools/bench/api: 250-970 ms during which the event loop, and the guest's disk with it,
    // stood still when the previous backup was destroyed there.
    m_file.reset();
    m_directory.reset();
}

} // namespace minivmm::backup
