// close_inherited_fds: the first thing minivmm does, so no file descriptor a parent leaked
// (sockets, other VMs' disks, a terminal of someone else) stays reachable from the VMM, and only
// what minivmm opens itself is there when the sandbox closes in (least privilege).
#pragma once

namespace minivmm::sandbox {

// Closes every fd >= 3 (stdin, stdout and stderr stay). close_range(2) where the kernel has it
// (Linux 5.9), close(2) on every number below RLIMIT_NOFILE otherwise. Never fails: an fd that cannot
// be closed is not ours to worry about.
void close_inherited_fds() noexcept;

} // namespace minivmm::sandbox
