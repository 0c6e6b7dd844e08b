// Snapshot files (vm_snapshot.hpp): writing them on the snapshot thread, opening them for restore.
#include "vmm/vm/vm_snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/memory/memory_file.hpp"

namespace minivmm::vm {

namespace {
constexpr const char* kVmstateFileName = "vmstate";

bool exists_in(int dir_fd, const char* name)
{
    struct stat status {};
    return ::fstatat(dir_fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0;
}

// DIR made or taken; returns whether this call created it.
bool prepare_dir(const std::string& dir)
{
    if (::mkdir(dir.c_str(), 0700) == 0)
        return true;
    const int error = errno;
    if (error != EEXIST) {
        if (error == ENOENT || error == ENOTDIR || error == EACCES || error == EROFS || error == EPERM)
            throw UserError(fmt::format("snapshot directory {}: {}", dir, std::strerror(error)));
        throw SysError(fmt::format("mkdir {}", dir), error);
    }
    struct stat status {};
    if (::stat(dir.c_str(), &status) != 0 || !S_ISDIR(status.st_mode))
        throw UserError(fmt::format("snapshot directory {}: exists and is not a directory", dir));
    return false;
}
} // namespace

SnapshotFileStats write_snapshot_files(const std::string& dir, const GuestMemory& memory, const snapshot::Vmstate& state)
{
    SnapshotFileStats stats;
    stats.created_dir = prepare_dir(dir);
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // A name of this snapshot's own (O_EXCL below): two VMs snapshotting into one DIR at once
    // never write or remove each other's partial file.
    static std::atomic<unsigned> counter {0};
    const std::string partial = fmt::format(".{}.partial-{}-{}", kMemoryFileName, ::getpid(), counter.fetch_add(1));
    bool partial_made = false;
    bool memory_named = false;
    const auto clean_up = [&] {
        // Best effort: the error that brought us here is the one to report.
        if (dir_fd) {
            if (partial_made)
                (void)::unlinkat(dir_fd.get(), partial.c_str(), 0);
            if (memory_named)
                (void)::unlinkat(dir_fd.get(), kMemoryFileName, 0);
        }
        if (stats.created_dir)
            (void)::rmdir(dir.c_str());
    };
    try {
        if (!dir_fd)
            throw SysError(fmt::format("open {}", dir));
        // Never overwrite a snapshot: a failure half-way would leave its old vmstate naming a
        // new, partial memory file.
        if (exists_in(dir_fd.get(), kVmstateFileName) || exists_in(dir_fd.get(), kMemoryFileName))
            throw UserError(fmt::format("snapshot directory {} already holds a snapshot", dir));
        {
            UniqueFd file(::openat(dir_fd.get(), partial.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (!file)
                throw SysError(fmt::format("create {}/{}", dir, partial));
            partial_made = true;
            const MemoryFileStats written = write_memory_file(file.get(), memory, dir + "/" + kMemoryFileName);
            stats.memory_bytes = written.total_bytes;
            stats.memory_data_bytes = written.data_bytes;
        }
        // Never over another snapshot's memory file (one that appeared meanwhile): its vmstate
        // would then describe ours. A file system without RENAME_NOREPLACE gets the plain rename
        // after the check above.
        if (::renameat2(dir_fd.get(), partial.c_str(), dir_fd.get(), kMemoryFileName, RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST)
                throw UserError(fmt::format("snapshot directory {} already holds a snapshot", dir));
            if (errno != EINVAL || ::renameat(dir_fd.get(), partial.c_str(), dir_fd.get(), kMemoryFileName) != 0)
                throw SysError(fmt::format("rename {}/{} to {}", dir, partial, kMemoryFileName));
        }
        partial_made = false;
        memory_named = true;
        // Last, atomically, and durable with DIR itself (vmstate_format.hpp).
        snapshot::write_vmstate_file(dir, state);
    } catch (...) {
        clean_up();
        throw;
    }
    return stats;
}

SnapshotFiles open_snapshot(const std::string& dir)
{
    SnapshotFiles files;
    files.dir = dir;
    files.state = snapshot::read_vmstate_file(dir);
    snapshot::StateReader machine(files.state.find(snapshot::SectionType::MachineConfig).payload, "machine config");
    files.machine = read_machine_config(machine);
    const std::string memory_path = dir + "/" + kMemoryFileName;
    files.memory = UniqueFd(::open(memory_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!files.memory)
        throw UserError(fmt::format("{}: {}", memory_path, std::strerror(errno)));
    struct stat status {};
    if (::fstat(files.memory.get(), &status) != 0)
        throw SysError(fmt::format("fstat {}", memory_path));
    if (!S_ISREG(status.st_mode))
        throw UserError(fmt::format("{} is not a regular file", memory_path));
    if (static_cast<std::uint64_t>(status.st_size) != files.machine.ram_bytes())
        throw UserError(fmt::format("{} is {} bytes, the snapshot's RAM layout needs {} bytes", memory_path,
            status.st_size, files.machine.ram_bytes()));
    return files;
}

} // namespace minivmm::vm
