// The host's MemAvailable, read from /proc/meminfo: the R_available input of DESIGN.md's
// memory formula (before the reserve is subtracted).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm::limiter {

// Finds the "MemAvailable:  N kB" line in /proc/meminfo text and returns N * 1024 bytes;
// nullopt when the line is missing or malformed (kernels before 3.14 have no MemAvailable).
std::optional<std::uint64_t> parse_mem_available(std::string_view meminfo);

// Reads /proc/meminfo; throws SysError when it cannot be read or has no MemAvailable line.
std::uint64_t read_host_mem_available();

} // namespace minivmm::limiter
