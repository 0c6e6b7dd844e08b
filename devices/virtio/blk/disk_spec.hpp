// DiskSpec: one `--disk path=FILE[,readonly=on][,serial=ID][,direct=on][,engine=sync|uring]
// [,id=NAME]` option, parsed; bad input is a UserError the user can fix.
#pragma once

#include <string>
#include <string_view>

namespace minivmm::virtio {

enum class DiskAccess { ReadWrite, ReadOnly };
enum class DiskCache { Buffered, Direct }; // Direct: O_DIRECT, bypass the host page cache
enum class DiskEngine { Sync, Uring };

struct DiskSpec {
    std::string path;
    DiskAccess access = DiskAccess::ReadWrite;
    std::string serial; // at most VIRTIO_BLK_ID_BYTES (20) bytes, returned by GET_ID
    DiskCache cache = DiskCache::Buffered;
    DiskEngine engine = DiskEngine::Sync;
    // The queue's I/O limits (`bw=`, `iops=`, `burst=`, `iops-burst=`), for the VMM's limiter
    // (vmm/limiter, parse_rate_limit); empty when the disk is unlimited.
    std::string rate_limit;
    // id=NAME: the device's name in the control API, the limits report and --metrics (1-32 of
    // [A-Za-z0-9_-]); empty = the VM names it blk0, blk1, ... in command-line order.
    std::string id;
    bool operator==(const DiskSpec&) const = default;
};

// Throws UserError naming the offending key or value.
DiskSpec parse_disk_spec(std::string_view text);

} // namespace minivmm::virtio
