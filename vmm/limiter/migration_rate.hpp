// compute_migration_rate: DESIGN.md's migration formula ("Resource limiter: the allocation
// formulas"), M_rate = M_size * h(M_available, M_limit), with h defined like f and g:
//   h = min(1, M_available / M_size, M_limit / M_size).
// M_size is the bytes a migration has to send (guest RAM plus device state); unconstrained,
// the VMM would send all of it in one second, so M_size also reads as a rate of M_size bytes/s.
// M_available is the bandwidth the transport offers (bytes/s, measured or configured; none =
// unknown, no constraint) and M_limit is --migrate-limit (bytes/s; none = no limit). Hence
// M_rate = min(M_size, M_available, M_limit) bytes per second.
#pragma once

#include <cstdint>
#include <optional>

#include "vmm/limiter/clock.hpp"

namespace minivmm::limiter {

struct MigrationRequest {
    std::uint64_t size = 0;                 // M_size, bytes
    std::optional<std::uint64_t> available; // M_available, bytes/s
    std::optional<std::uint64_t> limit;     // M_limit, bytes/s
};

struct MigrationRate {
    std::uint64_t size = 0;
    std::optional<std::uint64_t> available;
    std::optional<std::uint64_t> limit;
    double factor = 1.0;           // h
    std::uint64_t rate = 0;        // M_rate, bytes/s: feed it to a TokenBucket (bytes)
    Nanos expected_duration{0};    // size / rate: one pass over the data at that rate
};

// Throws UserError when a limit or an available bandwidth of 0 would make the transfer endless.
MigrationRate compute_migration_rate(const MigrationRequest& request);

} // namespace minivmm::limiter
