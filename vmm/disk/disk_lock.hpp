// lock_disk_exclusive: the flock(2) convention between the VMM and the disk tools. A running
// VMM holds LOCK_EX on every writable disk (LOCK_SH on read-only ones), so a tool that cannot
// get LOCK_EX at once knows a VM is using the image.
#pragma once

#include <string_view>

namespace minivmm::disk {

// Takes LOCK_EX | LOCK_NB on `fd` (held until the fd is closed). Throws UserError
// "disk PATH is in use by a running VM ..." when another holder has it, SysError otherwise.
void lock_disk_exclusive(int fd, std::string_view path);

} // namespace minivmm::disk
