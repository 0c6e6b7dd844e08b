// create_disk: `minivmm disk create PATH SIZE`, a new sparse raw disk image.
#pragma once

#include <cstdint>
#include <string>

namespace minivmm::disk {

inline constexpr std::uint64_t kSectorSize = 512; // virtio-blk counts capacity in 512-byte sectors

// Rounds `size` up to a whole number of 512-byte sectors (the guest sees only whole sectors,
// so a partial one would be unreachable) and returns the size used.
std::uint64_t round_up_to_sector(std::uint64_t size);

// Creates `path` as a sparse file of round_up_to_sector(size) bytes (no block allocated) and
// returns that size. Refuses to overwrite anything: UserError when `path` exists or `size` is 0
// or too large; SysError for other host failures (nothing is left behind then).
std::uint64_t create_disk(const std::string& path, std::uint64_t size);

} // namespace minivmm::disk
