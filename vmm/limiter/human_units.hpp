// Human-readable figures for the limiter's messages and the --limits-report table.
#pragma once

#include <cstdint>
#include <string>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

// Binary units with up to two decimals, trailing zeros dropped: 0 B, 512 B, 1.5 GiB, 2 MiB.
std::string format_bytes(std::uint64_t bytes);
// Like format_bytes with "/s": 50 MiB/s.
std::string format_byte_rate(double bytes_per_second);
// 1.234 s, 12.5 ms, 800 us, 0 s.
std::string format_duration(Nanos duration);

} // namespace minivmm::limiter
