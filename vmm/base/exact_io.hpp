// Positional reads and writes of exactly `length` bytes (preadv(2) / pwritev(2) of one iovec until
// done, EINTR retried): the loop every whole-block copier needs, written once. preadv / pwritev
// rather than pread / pwrite because the online backup's copy-before-write runs on the event
// loop, whose seccomp allow-list has these two (the sync disk engine) and not pread64 / pwrite64.
#pragma once

#include <cstddef>
#include <cstdint>

namespace minivmm {

// 0 when all `length` bytes were read; -errno on failure; -EIO when the file ends first.
[[nodiscard]] int pread_exact(int fd, std::uint8_t* buffer, std::size_t length, std::uint64_t offset);
// 0 when all `length` bytes were written; -errno on failure; -EIO when a write makes no progress.
[[nodiscard]] int pwrite_exact(int fd, const std::uint8_t* buffer, std::size_t length, std::uint64_t offset);

} // namespace minivmm
