// BackupFile: the destination of an online backup: a sparse temporary file next to DEST that
// becomes DEST only when complete and durable (fdatasync, then a rename that never replaces an
// existing file, then the directory fsynced), and is removed otherwise, so no file that looks
// like a complete backup ever exists unless it is one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "vmm/base/expected.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::backup {

class BackupFile {
public:
    // Refuses when `destination` exists (a backup never overwrites); creates
    // "<destination>.partial-XXXXXX" exclusively (O_EXCL) with mode `mode`, sized `size` bytes,
    // all hole. Errors are one line naming the path and the reason.
    static Expected<std::unique_ptr<BackupFile>, std::string> create(const std::string& destination,
        std::uint64_t size, mode_t mode);
    // Removes the temporary file unless publish() succeeded.
    ~BackupFile();
    BackupFile(const BackupFile&) = delete;
    BackupFile& operator=(const BackupFile&) = delete;

    [[nodiscard]] const std::string& destination() const { return m_destination; }
    [[nodiscard]] const std::string& temporary_path() const { return m_temporary_path; }

    // pwrite(2) of all `length` bytes at `offset`: 0 or -errno (e.g. -ENOSPC).
    int write_at(const std::uint8_t* data, std::size_t length, std::uint64_t offset) const;
    // fdatasync, rename to the destination without replacing anything (renameat2
    // RENAME_NOREPLACE, link + unlink where the file system lacks it), fsync the directory.
    // Empty on success, else a one-line reason (the temporary file is then still there and
    // the destructor or remove() deletes it).
    Expected<void, std::string> publish();
    // Deletes the temporary file now (idempotent). publish() and remove() also close the
    // descriptors (see close_descriptors()): nothing can be written afterwards.
    void remove();

    // create() runs on the backup thread (it opens files); so do publish(), remove() and the
    // copier's write_at(). Their system calls are in that thread's allow-list
    // (vmm/sandbox/allow_lists.cpp, kBackupSyscalls / kBackupOpens). write_at() from
    // copy-before-write on the event loop is pwritev only, which that thread's list has.

private:
    void close_descriptors();

    BackupFile(std::string destination, std::string temporary_path, UniqueFd directory, UniqueFd file);

    std::string m_destination;
    std::string m_temporary_path;
    std::string m_destination_name; // relative to m_directory
    std::string m_temporary_name;
    UniqueFd m_directory;
    UniqueFd m_file;
    bool m_present = true; // the temporary file exists under m_temporary_name
};

} // namespace minivmm::backup
