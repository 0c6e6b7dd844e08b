// Entering the jail (jail.hpp).
#include "vmm/sandbox/jail.hpp"

#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::sandbox {

void enter_jail(const JailSpec& jail)
{
    const char* directory = jail.directory.c_str();
    if (::unshare(CLONE_NEWNS) < 0)
        throw SysError("--jail: unshare(CLONE_NEWNS)");
    // A new namespace inherits shared propagation from the host (systemd makes / shared):
    // without this, the mounts below would show up on the host too.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        throw SysError("--jail: making the mounts private");
    // pivot_root(2) wants the new root to be a mount point.
    if (::mount(directory, directory, nullptr, MS_BIND | MS_REC, nullptr) < 0)
        throw SysError(fmt::format("--jail {}: bind mount", jail.directory));
    if (::chdir(directory) < 0)
        throw SysError(fmt::format("--jail {}: chdir", jail.directory));
    // pivot_root(".", "."): the old root is stacked under the new one and detached just after,
    // without needing a directory for it inside the jail (pivot_root(2), NOTES).
    if (::syscall(SYS_pivot_root, ".", ".") < 0)
        throw SysError(fmt::format("--jail {}: pivot_root", jail.directory));
    if (::umount2(".", MNT_DETACH) < 0)
        throw SysError("--jail: detaching the old root");
    if (::chdir("/") < 0)
        throw SysError("--jail: chdir /");
    // Groups first: after setuid there is no privilege left to change them.
    if (::setgroups(0, nullptr) < 0)
        throw SysError("--jail: setgroups");
    if (::setgid(jail.gid) < 0)
        throw SysError(fmt::format("--gid {}: setgid", jail.gid));
    if (::setuid(jail.uid) < 0)
        throw SysError(fmt::format("--uid {}: setuid", jail.uid));
}

} // namespace minivmm::sandbox
