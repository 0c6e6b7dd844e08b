// allocate_memory: per-slot memory allocation and the strict/shrink verdict.
#include "vmm/limiter/memory_allocation.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "vmm/limiter/human_units.hpp"

namespace minivmm::limiter {

namespace {

// floor(total * part / whole) without overflow; whole > 0.
std::uint64_t proportional_share(std::uint64_t total, std::uint64_t part, std::uint64_t whole)
{
    return static_cast<std::uint64_t>(static_cast<unsigned __int128>(total) * part / whole);
}

double ratio(std::uint64_t numerator, std::uint64_t denominator)
{
    return static_cast<double>(numerator) / static_cast<double>(denominator);
}

} // namespace

MemoryAllocation allocate_memory(const MemoryRequest& request)
{
    MemoryAllocation result;
    result.host_mem_available = request.host_mem_available;
    result.reserve = request.reserve;
    result.available = request.host_mem_available > request.reserve
        ? request.host_mem_available - request.reserve : 0;
    result.limit = request.limit;
    result.policy = request.policy;
    for (const auto& slot : request.slots)
        result.requested += slot.size;

    bool short_slot = false;
    for (const auto& slot : request.slots) {
        MemorySlotAllocation out;
        out.guest_address = slot.guest_address;
        out.requested = slot.size;
        if (slot.size == 0) {
            result.slots.push_back(out);
            continue;
        }
        out.available = proportional_share(result.available, slot.size, result.requested);
        std::uint64_t cap = out.available;
        if (request.limit) {
            out.limit = proportional_share(*request.limit, slot.size, result.requested);
            cap = std::min(cap, *out.limit);
        }
        // f = min(1, R_available,i / R_requested,i, R_limit,i / R_requested,i), so
        // R_requested,i * f = min(R_requested,i, R_available,i, R_limit,i).
        if (cap >= slot.size) {
            out.allocated = slot.size;
            out.factor = 1.0;
        } else {
            out.allocated = cap / kMemoryGranule * kMemoryGranule;
            out.factor = ratio(cap, slot.size);
            short_slot = true;
        }
        result.allocated += out.allocated;
        result.slots.push_back(out);
    }

    if (!short_slot)
        result.verdict = MemoryVerdict::Granted;
    else if (request.policy == MemoryPolicy::Strict || result.allocated < kMinimumGuestMemory)
        result.verdict = MemoryVerdict::Refused;
    else
        result.verdict = MemoryVerdict::Shrunk;
    return result;
}

std::string MemoryAllocation::summary() const
{
    const std::string limit_text = limit ? format_bytes(*limit) : std::string("none");
    const std::string figures = fmt::format(
        "requested {}, available {} (MemAvailable {} less the {} reserve), limit {}, allocated {}",
        format_bytes(requested), format_bytes(available), format_bytes(host_mem_available),
        format_bytes(reserve), limit_text, format_bytes(allocated));
    switch (verdict) {
    case MemoryVerdict::Granted:
        return fmt::format("memory: {}", figures);
    case MemoryVerdict::Shrunk:
        return fmt::format("memory: guest shrunk to {} by --memory-policy shrink: {}",
                           format_bytes(allocated), figures);
    case MemoryVerdict::Refused:
        break;
    }
    if (policy == MemoryPolicy::Shrink)
        return fmt::format("memory: refused, less than {} would remain for the guest: {}; free "
                           "host memory or raise --memory-limit",
                           format_bytes(kMinimumGuestMemory), figures);
    return fmt::format("memory: refused by --memory-policy strict: {}; lower --memory, raise "
                       "--memory-limit or use --memory-policy shrink",
                       figures);
}

} // namespace minivmm::limiter
