// enter_jail: `--jail DIR --uid U --gid G`, Firecracker's jailer as one step of `minivmm run`.
// Called once every file is open (KVM, guest memory, disks, taps, console file, metrics file)
// and before any other thread exists: the process moves into a mount namespace of its own
// (unshare(2) CLONE_NEWNS), makes every mount private so nothing propagates back, bind-mounts DIR
// onto itself, pivot_root(2)s into it and detaches the old root, so no other file of the host is
// reachable by path; then it drops every supplementary group and becomes U:G (setgroups(2),
// setgid(2), setuid(2)), which also clears every capability (capabilities(7), "Effect of user
// ID changes on capabilities").
#pragma once

#include "vmm/sandbox/sandbox_config.hpp"

namespace minivmm::sandbox {

// Throws SysError naming the failed step. Must run while the process has a single thread.
void enter_jail(const JailSpec& jail);

} // namespace minivmm::sandbox
