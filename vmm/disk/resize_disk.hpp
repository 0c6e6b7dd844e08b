// resize_disk: `minivmm disk resize PATH SIZE`, growing or safely shrinking a raw disk image.
#pragma once

#include <cstdint>
#include <string>

namespace minivmm::disk {

struct ResizeResult {
    std::uint64_t old_size = 0;
    std::uint64_t new_size = 0; // rounded up to whole 512-byte sectors
};

// Grows with ftruncate (the new space is a hole). Shrinking is allowed only over holes: when
// data is stored beyond the new size (found with SEEK_DATA / SEEK_HOLE, at the file system's
// block granularity) it throws UserError naming the offset where data ends. Takes LOCK_EX
// first, so a disk a running VM holds is refused ("in use by a running VM"). The guest's file
// system must be resized separately; shrinking it first is the user's job.
ResizeResult resize_disk(const std::string& path, std::uint64_t new_size);

} // namespace minivmm::disk
