// allocate_memory: DESIGN.md's memory formula ("Resource limiter: the allocation formulas"),
//   R_allocated,i = R_requested,i * f(R_available, R_limit),
//   f = min(1, R_available / R_requested, R_limit / R_requested), rounded down to 2 MiB,
// applied to each guest RAM slot, plus the strict/shrink policy. A pure function: the caller
// supplies MemAvailable (see meminfo.hpp) and the options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minivmm::limiter {

inline constexpr std::uint64_t kMemoryGranule = std::uint64_t{2} << 20; // 2 MiB: one large page
// Default --memory-reserve: what the host keeps for itself (page cache, the VMM's own heap,
// other processes) before any guest RAM is granted. 256 MiB keeps a small host responsive.
inline constexpr std::uint64_t kDefaultMemoryReserve = std::uint64_t{256} << 20;
// The smallest guest that can boot (layout::kMinimumRamSize): less than this is refused even
// under the shrink policy.
inline constexpr std::uint64_t kMinimumGuestMemory = std::uint64_t{2} << 20;

// What happens when a slot cannot get all it asked for (--memory-policy).
enum class MemoryPolicy {
    Strict, // refuse to boot and print every figure
    Shrink, // boot with the smaller slots (a smaller e820 map) and say so
};

struct MemorySlotRequest {
    std::uint64_t guest_address = 0; // for the report only
    std::uint64_t size = 0;          // R_requested,i (from layout::ram_ranges)
};

struct MemoryRequest {
    std::vector<MemorySlotRequest> slots;
    std::uint64_t host_mem_available = 0;          // MemAvailable of /proc/meminfo, in bytes
    std::uint64_t reserve = kDefaultMemoryReserve; // --memory-reserve
    std::optional<std::uint64_t> limit;            // --memory-limit; nullopt = no limit
    MemoryPolicy policy = MemoryPolicy::Strict;
};

struct MemorySlotAllocation {
    std::uint64_t guest_address = 0;
    std::uint64_t requested = 0;        // R_requested,i
    std::uint64_t available = 0;        // R_available,i: this slot's share of R_available
    std::optional<std::uint64_t> limit; // R_limit,i: this slot's share of --memory-limit
    std::uint64_t allocated = 0;        // R_allocated,i
    double factor = 1.0;                // f for this slot
};

enum class MemoryVerdict {
    Granted, // every slot got its full request
    Shrunk,  // policy shrink: at least one slot is smaller than requested
    Refused, // policy strict and a slot is short, or less than kMinimumGuestMemory remains
};

struct MemoryAllocation {
    std::vector<MemorySlotAllocation> slots;
    std::uint64_t host_mem_available = 0;
    std::uint64_t reserve = 0;
    std::uint64_t requested = 0;        // sum of R_requested,i
    std::uint64_t available = 0;        // R_available = MemAvailable - reserve (0 if negative)
    std::optional<std::uint64_t> limit; // R_limit
    std::uint64_t allocated = 0;        // sum of R_allocated,i
    MemoryPolicy policy = MemoryPolicy::Strict;
    MemoryVerdict verdict = MemoryVerdict::Granted;

    // The sharing rule, for the report and the refusal message.
    static constexpr const char* kSharingRule =
        "R_available and R_limit are shared among slots in proportion to each slot's request";

    // One line the CLI prints when the verdict is Refused or Shrunk, with every figure.
    [[nodiscard]] std::string summary() const;
};

// Sharing rule: slot i receives R_available,i = floor(R_available * R_requested,i / R_requested)
// and R_limit,i likewise. Sharing in proportion to the request makes f the same for every slot
// (up to rounding), which is what the formula gives for the guest as a whole; any other split
// would shrink one slot to protect another for no reason the user asked for.
// Rounding: a slot that gets its full request keeps its exact size (the user's size may not be
// a multiple of 2 MiB); a reduced slot is rounded down to a multiple of kMemoryGranule.
MemoryAllocation allocate_memory(const MemoryRequest& request);

} // namespace minivmm::limiter
