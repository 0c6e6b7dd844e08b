// disk_checksum: a content checksum of a sparse raw image that reads only its data extents and
// does not depend on how the file system laid out holes, so a backup can be compared with its
// source even when the copy is sparser (zero blocks written as holes).
#pragma once

#include <cstdint>

namespace minivmm::disk {

// The image is cut into 64 KiB blocks; a block that is a hole or all zeros contributes nothing,
// every other block contributes a 64-bit hash of its bytes and its index; the size is mixed
// in too. Equal logical contents give equal checksums whatever the sparse layout. The hash is
// not cryptographic: it detects corruption and copying bugs, not tampering. Throws SysError.
std::uint64_t disk_checksum(int fd, std::uint64_t size);

} // namespace minivmm::disk
