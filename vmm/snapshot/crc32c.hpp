// CRC32C (Castagnoli, the iSCSI/ext4/btrfs checksum; RFC 3720 §12.1 "iSCSI Digests", polynomial
// 0x1EDC6F41, reflected 0x82F63B78): the vmstate's checksum. Hand-rolled with a 256-entry table
// rather than a library: a vmstate is kilobytes, and this keeps the format free of a dependency.
#pragma once

#include <cstdint>
#include <span>

namespace minivmm::snapshot {

// Continues a CRC32C over `data`. Start with crc = 0; crc32c(crc32c(0, a), b) == crc32c(0, a ++ b).
[[nodiscard]] std::uint32_t crc32c(std::uint32_t crc, std::span<const std::uint8_t> data);

} // namespace minivmm::snapshot
