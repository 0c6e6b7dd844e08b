// RateLimitConfig: the I/O limit of one device queue as the user writes it, e.g.
// "bw=50M,iops=2000,burst=100M,iops-burst=500", and its parser.
//
// Keys (each at most once, any order, at least one of bw/iops):
//   bw=SIZE         bytes per second (parse_size units: 50M = 50 MiB/s)
//   iops=N          requests per second
//   burst=SIZE      one-time extra bytes, available from the start (needs bw)
//   iops-burst=N    one-time extra requests, available from the start (needs iops)
// Each bucket holds one second of its rate (capacity = rate * 1 s) and starts empty
// (token_bucket.hpp), so the burst is the only up-front allowance; a queue idle for a second or
// more may later send one second's worth at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm::limiter {

struct BucketConfig {
    std::uint64_t rate = 0;           // tokens per second, > 0
    std::uint64_t capacity = 0;       // tokens, > 0 (rate * 1 s from the parser)
    std::uint64_t one_time_burst = 0; // tokens
    bool operator==(const BucketConfig&) const = default;
};

struct RateLimitConfig {
    std::optional<BucketConfig> bytes; // bw
    std::optional<BucketConfig> ops;   // iops
    bool operator==(const RateLimitConfig&) const = default;
};

// Throws UserError naming the bad item and the expected form.
RateLimitConfig parse_rate_limit(std::string_view text);

} // namespace minivmm::limiter
