// compute_migration_rate: the capped migration bandwidth.
#include "vmm/limiter/migration_rate.hpp"

#include <algorithm>

#include "vmm/base/sys_error.hpp"

namespace minivmm::limiter {

MigrationRate compute_migration_rate(const MigrationRequest& request)
{
    if (request.limit && *request.limit == 0)
        throw UserError("--migrate-limit 0 would never finish; give a positive rate such as 100M");
    if (request.available && *request.available == 0)
        throw UserError("the migration transport offers no bandwidth (0 bytes/s)");

    MigrationRate result;
    result.size = request.size;
    result.available = request.available;
    result.limit = request.limit;
    if (request.size == 0)
        return result; // nothing to send: h = 1, rate 0, done at once

    // M_size * min(1, M_available / M_size, M_limit / M_size) = min(M_size, M_available, M_limit).
    std::uint64_t rate = request.size;
    if (request.available)
        rate = std::min(rate, *request.available);
    if (request.limit)
        rate = std::min(rate, *request.limit);
    result.rate = rate;
    result.factor = static_cast<double>(rate) / static_cast<double>(request.size);
    const auto ns = static_cast<unsigned __int128>(request.size) * 1'000'000'000 / rate;
    result.expected_duration = Nanos(static_cast<Nanos::rep>(ns));
    return result;
}

} // namespace minivmm::limiter
